import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, type Deps } from '@onramp/core';
import { createApp } from './app.js';

export interface RunningApi {
  server: Server;
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Listen, and say plainly when the port is taken. `stop()` drains in-flight requests, then closes. */
export async function startApi(deps: Deps, port = deps.config.port, host = deps.config.host): Promise<RunningApi> {
  const app = createApp(deps);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new ConfigError('PORT', `${port} is already in use on ${host}; choose another PORT`));
      else if (err.code === 'EACCES') reject(new ConfigError('PORT', `not allowed to listen on ${port}`));
      else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
  if (deps.config.isProduction && !deps.config.metricsToken) {
    deps.logger.warn('GET /metrics answers anyone who can reach this port: set METRICS_TOKEN, or keep the port off the internet');
  }
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    server,
    port: actual,
    url: `http://${shownHost}:${actual}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after 10 s are cut: shutdown must finish.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      }),
  };
}
