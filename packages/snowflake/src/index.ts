export * from './sql';
export * from './tool';
export * from './connection';
export * from './backfill';
export * from './wiring-store';
export * from './secret';
