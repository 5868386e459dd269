import { Module } from '@nestjs/common';
import { RecordSegmentCallsHandler } from './record-segment-calls/record-segment-calls.handler';
import { RecordSegmentCallsHttpController } from './record-segment-calls/record-segment-calls.http.controller';

/** The Segment-compatible ingest door (docs/segment-compatibility.md). */
@Module({ controllers: [RecordSegmentCallsHttpController], providers: [RecordSegmentCallsHandler] })
export class SegmentIngestModule {}
