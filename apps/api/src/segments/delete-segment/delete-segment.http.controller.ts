import { Controller, Delete, Inject, Param } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../../auth/auth.guard';
import { Audited } from '../../audit/audit';
import { parseSegmentId } from '../segments.params';
import { DeleteSegmentCommand, type DeleteSegmentResult } from './delete-segment.command';
import { ApiAnswer } from '../../openapi/openapi';

@ApiTags('segments')
@ApiBearerAuth()
@Controller('v1/segments')
export class DeleteSegmentHttpController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Delete(':id')
  @RequireScope('admin')
  @Audited('segment.deleted')
  @ApiOperation({ summary: 'Delete a segment (recorded as an event); every member exits' })
  @ApiAnswer(200, 'DeletedSegment')
  remove(@Param('id') id: string): Promise<DeleteSegmentResult> {
    return this.commands.execute(new DeleteSegmentCommand(parseSegmentId(id), new Date()));
  }
}
