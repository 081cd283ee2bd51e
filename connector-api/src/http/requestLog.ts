import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@onramp/core';

/**
 * The path as it may be logged: the query string dropped, and the bearer token of an invitation or reset
 * link (`/invite/<token>`, `/reset/<token>`) masked, since the link alone redeems it.
 */
function loggableUrl(url: string): string {
  return url.split('?')[0]!.replace(/^\/(invite|reset)\/[^/]+/, '/$1/[redacted]');
}

const quiet = new Set(['/healthz', '/metrics']);

/**
 * One line per request when it ends (`request completed`; 5xx at error level; `request aborted` when the
 * client went away first), and `req.log`, a child logger carrying the request id, made only if something
 * logs through it. Written for the hot path: pino-http built a child logger and its serializers for every
 * request even at LOG_LEVEL=warn, where no line is written; this costs nothing then.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const id = (req as Request & { id: string }).id;
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', { configurable: true, enumerable: false, get: () => (child ??= logger.child({ reqId: id })) });
    if (quiet.has(req.url) || !logger.isLevelEnabled('info')) return next();
    const started = performance.now();
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      const line = {
        reqId: id,
        req: { id, method: req.method, url: loggableUrl(req.originalUrl) },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - started),
      };
      if (!res.writableFinished) logger.info(line, 'request aborted');
      else if (res.statusCode >= 500) logger.error(line, 'request errored');
      else logger.info(line, 'request completed');
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's child logger (reqId bound), made on first use by requestLog. */
    log?: Logger;
  }
}
