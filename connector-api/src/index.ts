export { createApp, API_VERSION } from './app.js';
export { startApi, type RunningApi } from './server.js';
