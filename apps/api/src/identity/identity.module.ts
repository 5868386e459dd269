import { Module } from '@nestjs/common';
import { MergeCustomersHandler } from './merge-customers/merge-customers.handler';
import { MergeCustomersHttpController } from './merge-customers/merge-customers.http.controller';
import { UnmergeCustomersHandler } from './unmerge-customers/unmerge-customers.handler';
import { UnmergeCustomersHttpController } from './unmerge-customers/unmerge-customers.http.controller';

/** Identity: admin merge / unmerge of customers, recorded as events. */
@Module({
  controllers: [MergeCustomersHttpController, UnmergeCustomersHttpController],
  providers: [MergeCustomersHandler, UnmergeCustomersHandler],
})
export class IdentityModule {}
