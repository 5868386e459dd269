export * from './url-guard';
export * from './webhook-store';
export * from './checkpointed-reactor';
export * from './webhook-outbox';
export * from './webhook-delivery';
export * from './webhook-signals';
