export * from './fix';
export * from './ledger';
export * from './replay';
export * from './scan';
export * from './source';
export * from './target';
