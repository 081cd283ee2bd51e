export { createApp } from './app.js';
export { startApi, type RunningApi } from './server.js';
