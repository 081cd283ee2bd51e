import { createHash, randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { AppError, bearerCredential, checkDatabase, checkRedis, hookEvents, hookPayloadSchemas, safeEqual, type Deps } from '@onramp/core';
import { createMetrics } from './http/metrics.js';
import { requestLog } from './http/requestLog.js';
import { securityHeaders } from './http/securityHeaders.js';
import { buildOpenApi } from './http/openapi.js';
import { errorBoundary, sendProblem } from './http/problem.js';
import { mountRoutes, operationOf } from './http/route.js';
import { v1Routes } from './routes/index.js';
import { mountPages } from './pages/index.js';

const API_VERSION = '0.1.0';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** From now on every request answers 503 + Retry-After: the process is shutting down (server.ts). */
export function markDraining(app: Express): void {
  app.locals.draining = true;
}

export function createApp(deps: Deps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Deliberately no 'trust proxy' default: links never come from Host; the console sets Secure cookies
  // from PUBLIC_BASE_URL's scheme.
  const metrics = createMetrics(deps.jobs);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    (req as Request & { id: string }).id = id;
    next();
  });
  app.use(requestLog(deps.logger));
  app.use(metrics.middleware);
  app.use(securityHeaders(deps.config));
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.app.locals.draining) return next();
    res.setHeader('Connection', 'close');
    sendProblem(
      res,
      new AppError('unavailable', 'Shutting down', {
        detail: 'This Onramp process is stopping; the request changed nothing. Retry shortly (another process, or this one after its restart, answers).',
        retryAfter: 5,
      }),
    );
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    await checkDatabase(deps.pool).then(
      () => (checks.database = 'ok'),
      (err: Error) => (checks.database = `unreachable: ${err.message}`),
    );
    await checkRedis(deps.redis).then(
      () => (checks.redis = 'ok'),
      (err: Error) => (checks.redis = `unreachable: ${err.message}`),
    );
    const ok = Object.values(checks).every((v) => v === 'ok');
    if (ok) {
      res.json({ status: 'ready', checks });
      return;
    }
    sendProblem(res, new AppError('unavailable', 'Not ready', { detail: JSON.stringify(checks), extra: { checks } }));
  });
  app.get('/metrics', async (req, res) => {
    if (deps.config.metricsToken && !bearerMatches(req.headers.authorization, deps.config.metricsToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      sendProblem(res, new AppError('unauthorized', 'Unauthorized', { detail: 'GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.' }));
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const v1 = express.Router();
  v1.use(express.json({ limit: deps.config.bodyLimitBytes, type: ['application/json', 'application/*+json'] }));
  const openapi = buildOpenApi(
    v1Routes.map(operationOf).map((op) => ({ ...op, path: `/v1${op.path}` })),
    {
      version: API_VERSION,
      serverUrl: deps.config.publicBaseUrl,
      webhooks: Object.fromEntries(hookEvents.map((e) => [e, { summary: `${e} delivery`, schema: hookPayloadSchemas[e] }])),
    },
  );
  v1.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  mountRoutes(v1, deps, v1Routes);
  app.use('/v1', v1);

  mountPages(app, deps);

  app.use((req: Request, res: Response) => {
    sendProblem(res, new AppError('not_found', 'Not found', { detail: `No route for ${req.method} ${req.path}` }));
  });
  app.use(errorBoundary(deps.logger));
  return app;
}

/** Compared as digests (equal lengths), so the time taken says nothing about the token. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = bearerCredential(header);
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return given !== null && safeEqual(digest(given), digest(token));
}
