import { pino, type Logger } from 'pino';

export type { Logger };

/** Secrets never reach a log line: keys, tokens, passwords, cookies. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.api_key',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.metricsToken',
  'password',
  'token',
  'apiKey',
  'secret',
];

export function createLogger(level: string, name = 'onramp'): Logger {
  return pino({
    name,
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
