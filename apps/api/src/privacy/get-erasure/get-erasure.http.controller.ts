import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { ApiAnswer } from '../../openapi/openapi';
import { RUNTIME, type CairnRuntime } from '../../runtime';
import { getErasure, type ErasureRecord } from '../erasures';

@ApiTags('privacy')
@ApiBearerAuth()
@Controller('v1/privacy/erasures')
export class GetErasureHttpController {
  constructor(@Inject(RUNTIME) private readonly runtime: CairnRuntime) {}

  @Get(':id')
  @RequireScope('admin')
  @ApiOperation({ summary: 'One erasure record: who asked, when, why, which ids, which keys were destroyed (no personal data)' })
  @ApiParam({ name: 'id', description: 'The erasureId POST /v1/privacy/erasures answered' })
  @ApiAnswer(200, 'ErasureRecord')
  async get(@Param('id') id: string): Promise<ErasureRecord> {
    return getErasure(this.runtime, id);
  }
}
