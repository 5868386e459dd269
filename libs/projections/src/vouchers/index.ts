export * from './automations';
export * from './voucher-uses.projection';
