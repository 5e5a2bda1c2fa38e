export * from './server.js';
export * from './client.js';
export * from './health.js';
export * from './metadata.js';
export * from './reflection.js';
export * from './stream.js';
