export * from './program';
export * from './facts';
export * from './ledger';
export * from './explain';
