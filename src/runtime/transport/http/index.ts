export * from './route.js';
export * from './template.js';
export * from './binding.js';
export * from './server.js';
export * from './client.js';
export { setHttpStatus } from './status.js';
export { EVENT_STREAM_TYPE, type EventStreamMethod, type Send } from './sse.js';
