export * from './process.js';
export * from './postgres.js';
export * from './redis.js';
export * from './prometheus.js';
