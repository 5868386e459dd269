export * from './loyalty.projection';
export * from './loyalty.store';
export * from './loyalty.what-if';
