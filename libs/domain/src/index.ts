export * from './events';
export * from './money';
export * from './errors';
export * from './profile';
export * from './loyalty';
export * from './identity/identity';
export * from './analytics';
export * from './rfm/rfm';
