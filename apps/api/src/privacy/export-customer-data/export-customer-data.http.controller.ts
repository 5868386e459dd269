import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Audited } from '../../audit/audit';
import { RequireScope } from '../../auth/auth.guard';
import { ApiAnswer } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { exportHead, writeExport } from './export-customer-data';

@ApiTags('privacy')
@ApiBearerAuth()
@Controller('v1/privacy/customers')
export class ExportCustomerDataHttpController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: CairnRuntime,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Get(':id/export')
  @RequireScope('admin')
  @Audited('privacy.exported')
  @ApiOperation({
    summary: 'Everything Cairn holds about a person, decrypted, as one JSON document (right of access, docs/privacy.md)',
    description: 'Every event of every id linked to the person (personal values opened; erased ones null and listed in erasedFields), with the profile (consent included), identity, loyalty ledger, segment memberships and erasures. Streamed.',
  })
  @ApiParam({ name: 'id', description: 'Any customer id of the person' })
  @ApiAnswer(200, 'CustomerDataExport')
  async export(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const at = new Date();
    const { head, streams } = await exportHead(this.runtime, this.queries, id, at);
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="cairn-export-${encodeURIComponent(head.customerId)}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    try {
      await writeExport(this.runtime, res, head, streams);
      res.end();
    } catch (err) {
      // Headers are gone: cut the body off so the client sees an incomplete document, never a complete-looking one.
      this.runtime.logger.warn({ code: (err as { code?: string }).code }, 'privacy export broke off');
      res.destroy();
    }
  }
}
