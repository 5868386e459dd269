export * from './event-store';
export * from './ingest-index';
