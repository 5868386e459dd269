export * from './analytics.projection';
