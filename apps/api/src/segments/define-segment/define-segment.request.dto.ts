import { ApiProperty } from '@nestjs/swagger';

export class DefineSegmentRequestDto {
  @ApiProperty({ example: 'Lapsed buyers' }) name!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { all: [{ count: { type: 'purchase', withinDays: 60 }, op: '=', value: 0 }, { field: 'orders', op: '>=', value: 1 }] },
    description: 'See docs/segments.md',
  })
  condition!: unknown;
}
