export * from './route.js';
export * from './template.js';
export * from './binding.js';
export * from './server.js';
export * from './client.js';
