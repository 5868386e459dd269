export * from './parked';
export * from './history';
export * from './tables';
export * from './replay';
export * from './rebuild';
export * from './operations';
export * from './what-if';
