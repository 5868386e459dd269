import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SEGMENT_CALL_TYPES } from '../segment-mapping';

/** A Segment Tracking API message (the fields Cairn reads; others are accepted and ignored). */
export class SegmentMessageDto {
  @ApiPropertyOptional({ enum: SEGMENT_CALL_TYPES, description: 'Required in a batch; implied by /track, /identify, /page' }) type?: string;
  @ApiPropertyOptional({ description: 'Becomes customerId. userId or anonymousId is required' }) userId?: string;
  @ApiPropertyOptional({ description: 'Becomes anonymousId' }) anonymousId?: string;
  @ApiPropertyOptional({ description: 'Track: Product Viewed, Order Completed, Order Refunded, Product Reviewed are mapped; others answer "unmapped"', example: 'Order Completed' })
  event?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'E-commerce spec v2 properties; money in major units', example: { order_id: 'o-1', currency: 'EUR', total: 54.89, shipping: 4.9, products: [{ product_id: 'sku-1', price: 49.99, quantity: 1 }] } })
  properties?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Identify traits (nested objects are flattened one level: address.city)' }) traits?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) context?: Record<string, unknown>;
  @ApiPropertyOptional({ description: 'Becomes the event id (UUID v5 of it): a re-sent message is a duplicate' }) messageId?: string;
  @ApiPropertyOptional({ description: 'ISO 8601; becomes occurredAt (else originalTimestamp, else the time received)' }) timestamp?: string;
  @ApiPropertyOptional() originalTimestamp?: string;
}

export class SegmentBatchRequestDto {
  @ApiProperty({ type: [SegmentMessageDto], minItems: 1, maxItems: 500 }) batch!: SegmentMessageDto[];
  @ApiPropertyOptional({ description: 'Sent by the SDKs; ignored (the write key is the Basic auth user)' }) writeKey?: string;
  @ApiPropertyOptional() sentAt?: string;
}
