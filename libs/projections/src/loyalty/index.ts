export * from './loyalty.projection';
export * from './loyalty.store';
