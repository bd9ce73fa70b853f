export * from './postgres.js';
export * from './process.js';
export * from './prometheus.js';
export * from './redis.js';
export * from './redis-cluster.js';
