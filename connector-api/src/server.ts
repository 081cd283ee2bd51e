import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { AppError, ConfigError, watchAuthChanges, type Deps } from '@onramp/core';
import type { Duplex } from 'node:stream';
import { statusByCode, toProblem } from './http/problem.js';
import { createApp, markDraining } from './app.js';

export interface RunningApi {
  server: Server;
  app: Express;
  url: string;
  port: number;
  /**
   * Stop listening, answer 503 + Retry-After (and `Connection: close`) to any further request on an open
   * connection, and wait up to `deadlineMs` for the requests in flight. Resolves with how many were still
   * running at the deadline (their connections are then cut).
   */
  stop(deadlineMs?: number): Promise<{ abandoned: number }>;
}

/** Listen, and say plainly when the port is taken. `stop()` drains in-flight requests, then closes. */
export async function startApi(deps: Deps, port = deps.config.port, host = deps.config.host): Promise<RunningApi> {
  const app = createApp(deps);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  // Requests Node refuses before Express sees them (a URL or headers over 16 KB, broken HTTP) get a
  // problem+json too, like every other 4xx, instead of Node's bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const appErr = tooLarge
      ? new AppError('headers_too_large', 'Request header fields too large', {
          detail: 'The request line and headers are larger than the server reads (16 KB). Send long values in the body.',
        })
      : new AppError('bad_request', 'Bad request', { detail: 'The request is not valid HTTP/1.1.' });
    const status = statusByCode[appErr.code];
    const body = JSON.stringify(toProblem(appErr));
    socket.end(
      `HTTP/1.1 ${status} ${appErr.title}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      inFlight.delete(res);
      // A connection whose last request just ended is idle: close it, or a keep-alive client holds the drain open.
      if (draining) server.closeIdleConnections();
    });
  });
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
  // Cached API keys are used only while this is connected (see PrincipalCache).
  const authChanges = watchAuthChanges(deps);
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    server,
    app,
    port: actual,
    url: `http://${shownHost}:${actual}`,
    stop: async (deadlineMs = 10_000) => {
      draining = true;
      markDraining(app);
      for (const res of inFlight) {
        if (!res.headersSent) res.shouldKeepAlive = false;
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), deadlineMs)))]);
      clearTimeout(timer);
      await authChanges?.close();
      if (drained) return { abandoned: 0 };
      // Requests still running at the deadline are cut: shutdown must finish.
      const abandoned = inFlight.size;
      server.closeAllConnections();
      await closed;
      return { abandoned };
    },
  };
}
