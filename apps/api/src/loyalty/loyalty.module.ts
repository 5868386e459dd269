import { Module } from '@nestjs/common';
import { AdjustHandler } from './adjust/adjust.handler';
import { AdjustHttpController } from './adjust/adjust.http.controller';
import { ExplainHandler } from './explain/explain.handler';
import { ExplainHttpController } from './explain/explain.http.controller';
import { GetLedgerHandler } from './get-ledger/get-ledger.handler';
import { GetLedgerHttpController } from './get-ledger/get-ledger.http.controller';
import { GetLoyaltyHandler } from './get-loyalty/get-loyalty.handler';
import { GetLoyaltyHttpController } from './get-loyalty/get-loyalty.http.controller';
import { LoyaltyReader } from './loyalty.reader';
import { PutProgramHandler } from './put-program/put-program.handler';
import { PutProgramHttpController } from './put-program/put-program.http.controller';
import { RedeemHandler } from './redeem/redeem.handler';
import { RedeemHttpController } from './redeem/redeem.http.controller';

/** Loyalty: program versions, ledger queries computed for any as-of instant, redemptions and adjustments. */
@Module({
  // The program route first, so `/v1/loyalty/program` is never read as a customer id.
  controllers: [PutProgramHttpController, GetLedgerHttpController, ExplainHttpController, GetLoyaltyHttpController, RedeemHttpController, AdjustHttpController],
  providers: [LoyaltyReader, PutProgramHandler, GetLoyaltyHandler, GetLedgerHandler, ExplainHandler, RedeemHandler, AdjustHandler],
})
export class LoyaltyModule {}
