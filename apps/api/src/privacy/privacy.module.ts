import { Module } from '@nestjs/common';
import { EraseCustomerHandler } from './erase-customer/erase-customer.handler';
import { EraseCustomerHttpController } from './erase-customer/erase-customer.http.controller';
import { ExportCustomerDataHttpController } from './export-customer-data/export-customer-data.http.controller';
import { GetErasureHttpController } from './get-erasure/get-erasure.http.controller';

/** Privacy (docs/privacy.md): export of a person's data, erasure by crypto-shredding, erasure records. */
@Module({
  controllers: [EraseCustomerHttpController, GetErasureHttpController, ExportCustomerDataHttpController],
  providers: [EraseCustomerHandler],
})
export class PrivacyModule {}
