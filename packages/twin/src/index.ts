export * from './coalesce';
export * from './api';
export * from './faults';
export * from './firehose';
export * from './options';
export * from './snowpipe';
export * from './twin';
export * from './warehouse';
