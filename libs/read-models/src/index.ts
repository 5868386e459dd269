export * from './schema';
export * from './store';
export * from './migrations';
export * from './checkpoints';
export * from './profiles';
export * from './customer-view';
