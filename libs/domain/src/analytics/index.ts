export * from './numeric';
export * from './models';
export * from './periods';
export * from './summary';
export * from './metrics';
export * from './cdnow';
export * from './clv';
export * from './persons';
