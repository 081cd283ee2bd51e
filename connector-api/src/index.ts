export { createApp, markDraining } from './app.js';
export { startApi, type RunningApi } from './server.js';
