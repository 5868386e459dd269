import { Command } from '@nestjs/cqrs';

export interface DeleteSegmentResult {
  readonly id: string;
  readonly deleted: true;
  readonly exited: number;
}

/** Delete a segment (an event); every member exits. */
export class DeleteSegmentCommand extends Command<DeleteSegmentResult> {
  constructor(
    readonly id: string,
    readonly at: Date,
  ) {
    super();
  }
}
