import { Controller, Delete, Inject, Param } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CairnError, ERROR_CODES } from '@cairn/domain';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { UnmergeCustomersCommand, type UnmergeResult } from './unmerge-customers.command';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('identity')
@ApiBearerAuth()
@Controller('v1/identity/merges')
export class UnmergeCustomersHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Delete(':id')
  @RequireScope('admin')
  @Audited('identity.unmerged')
  @ApiOperation({ summary: 'Reverse a merge (recorded as an event); the people are re-derived from their events' })
  @ApiAnswer(200, 'UnmergeResult')
  async unmerge(@Param('id') id: string): Promise<UnmergeResult> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) {
      throw new CairnError(ERROR_CODES.VALIDATION, 'invalid merge id', { fields: [{ field: 'id', message: 'must be a merge id returned by POST /v1/identity/merges' }] });
    }
    return this.commands.execute(new UnmergeCustomersCommand(id.toLowerCase(), new Date()));
  }
}
