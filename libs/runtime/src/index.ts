export * from './logger';
export * from './api-keys';
export * from './event-store';
export * from './startup';
export * from './csv';
export * from './personal-data-vault';
