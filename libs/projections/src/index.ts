export * from './projection';
export * from './projector';
export * from './profile.projection';
export * from './registry';
export * from './identity/identity-log';
export * from './identity/identity-sync';
export * from './ops';
export * from './loyalty';
