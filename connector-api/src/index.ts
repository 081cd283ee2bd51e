export { createApp, markDraining, API_VERSION } from './app.js';
export { startApi, type RunningApi } from './server.js';
