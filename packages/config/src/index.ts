export * from './cors';
export * from './env';
export * from './format';
export * from './settings';
export * from './stage-config';
export * from './twin-data-dir';
export * from './unknown-keys';
export * from './snowflake-wiring';
