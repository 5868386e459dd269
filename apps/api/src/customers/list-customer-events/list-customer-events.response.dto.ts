import { ApiProperty } from '@nestjs/swagger';

export class CustomerEventView {
  @ApiProperty({ description: 'Event id (the one given at ingest)' }) id!: string;
  @ApiProperty({ example: 'cairn.purchase.v1' }) type!: string;
  @ApiProperty({ example: 'customer-c-42', description: 'customer-<id> or visitor-<anonymousId>' }) streamId!: string;
  @ApiProperty({ description: 'Revision in its stream (decimal)' }) revision!: string;
  @ApiProperty({ description: 'Commit position in the log (decimal)' }) position!: string;
  @ApiProperty({ description: 'Business time of the event' }) occurredAt!: string;
  @ApiProperty({ description: 'When Cairn received it' }) receivedAt!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The event as stored, its personal values opened (docs/privacy.md); an erased one is null' }) data!: Record<string, unknown>;
  @ApiProperty({ type: [String], required: false, example: ['traits.email'], description: 'Paths of personal values that were erased (null in data); absent when none' }) erasedFields?: string[];
}

export class CustomerEventsPage {
  @ApiProperty({ description: 'The customer id the person resolves to' }) customerId!: string;
  @ApiProperty({ type: [String], description: 'Every stream read: the linked customer ids and anonymous ids' }) streams!: string[];
  @ApiProperty({ type: [CustomerEventView], description: 'Newest first (by log position)' }) items!: CustomerEventView[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next (older) page; null at the first event' }) nextCursor!: string | null;
}
