export * from './analytics.projection';
export * from './persons';
