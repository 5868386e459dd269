export * from './projection';
export * from './projector';
export * from './profile.projection';
export * from './registry';
export * from './loyalty';
export * from './ops';
