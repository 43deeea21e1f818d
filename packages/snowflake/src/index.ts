export * from './sql';
export * from './tool';
export * from './runner';
export * from './backfill';
export * from './wiring-store';
export * from './secret';
export * from './connect';
