import { Module } from '@nestjs/common';
import { AutomationsService } from './automations.service';
import { DefineAutomationHttpController } from './define-automation/define-automation.http.controller';
import { GetAutomationResultsHttpController } from './get-automation-results/get-automation-results.http.controller';
import { ManageAutomationsHttpController } from './manage-automations/manage-automations.http.controller';

/** Automation rules and the vouchers they issue (docs/automations.md). */
@Module({
  controllers: [DefineAutomationHttpController, ManageAutomationsHttpController, GetAutomationResultsHttpController],
  providers: [AutomationsService],
})
export class AutomationsModule {}
