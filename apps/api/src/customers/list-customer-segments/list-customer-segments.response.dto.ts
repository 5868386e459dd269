import { ApiProperty } from '@nestjs/swagger';

export class CustomerSegmentMembership {
  @ApiProperty() segmentId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The definition version in force' }) version!: number;
  @ApiProperty({ description: 'Member since (UTC ISO)' }) since!: string;
}

export class CustomerSegments {
  @ApiProperty({ description: 'The customer id the person resolves to' }) customerId!: string;
  @ApiProperty({ type: [CustomerSegmentMembership] }) items!: CustomerSegmentMembership[];
}
