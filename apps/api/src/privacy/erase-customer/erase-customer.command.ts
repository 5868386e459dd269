import { Command } from '@nestjs/cqrs';
import type { ErasureRecord } from '../erasures';
import type { EraseCustomerRequest } from './erase-customer.request.dto';

/** Forget a person: destroy the data keys of every id of theirs (docs/privacy.md). */
export class EraseCustomerCommand extends Command<{ record: ErasureRecord; created: boolean }> {
  constructor(
    readonly request: EraseCustomerRequest,
    /** Name of the API key asking. */
    readonly actor: string,
    readonly at: Date,
  ) {
    super();
  }
}
