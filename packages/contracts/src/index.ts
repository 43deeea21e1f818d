export * from './compile';
export * from './schema-dir';
