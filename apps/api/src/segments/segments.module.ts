import { Module } from '@nestjs/common';
import { DefineSegmentHandler } from './define-segment/define-segment.handler';
import { DefineSegmentHttpController } from './define-segment/define-segment.http.controller';
import { DeleteSegmentHandler } from './delete-segment/delete-segment.handler';
import { DeleteSegmentHttpController } from './delete-segment/delete-segment.http.controller';
import { GetSegmentSizesHandler } from './get-segment-sizes/get-segment-sizes.handler';
import { GetSegmentSizesHttpController } from './get-segment-sizes/get-segment-sizes.http.controller';
import { GetSegmentsHandler } from './get-segments/get-segments.handler';
import { GetSegmentsHttpController } from './get-segments/get-segments.http.controller';
import { ListSegmentMembersHandler } from './list-segment-members/list-segment-members.handler';
import { ListSegmentMembersHttpController } from './list-segment-members/list-segment-members.http.controller';
import { SegmentEngineService } from './segment-engine.service';

/** Rule-based segments: definitions (events), live membership, members export, sizes over time. */
@Module({
  controllers: [DefineSegmentHttpController, DeleteSegmentHttpController, ListSegmentMembersHttpController, GetSegmentSizesHttpController, GetSegmentsHttpController],
  providers: [SegmentEngineService, DefineSegmentHandler, DeleteSegmentHandler, GetSegmentsHandler, GetSegmentSizesHandler, ListSegmentMembersHandler],
})
export class SegmentsModule {}
