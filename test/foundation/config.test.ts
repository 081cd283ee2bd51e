import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, resolveAppSecret } from '@onramp/core';
import { removeTempDir } from '../support/tempDir.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.publicBaseUrl).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.limits.resendsPerDay).toBe(5);
    // The dev mailbox shows live links: outside production, only this machine can reach the port.
    expect(c.host).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'production', APP_SECRET: 'x'.repeat(40), PUBLIC_BASE_URL: 'https://p.example' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('strips a trailing slash from PUBLIC_BASE_URL', () => {
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://portal.example.com/' }).publicBaseUrl).toBe('https://portal.example.com');
  });

  const bad: Array<[Record<string, string>, string, RegExp]> = [
    [{ PORT: 'eighty' }, 'PORT', /number/i],
    [{ PORT: '70000' }, 'PORT', /65535/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /postgres/],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /postgres/],
    [{ REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL', /redis/],
    [{ SMTP_URL: 'mail.example.com' }, 'SMTP_URL', /smtp/],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL', /http/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /fatal|info/],
    [{ APP_SECRET: 'short' }, 'APP_SECRET', /32/],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN', /at least 16/],
    [{ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://x.example' }, 'APP_SECRET', /required/],
    [{ NODE_ENV: 'production', APP_SECRET: 'x'.repeat(40) }, 'PUBLIC_BASE_URL', /required/],
    [{ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' }, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', /true|false/],
  ];
  it.each(bad)('rejects %j naming %s', (env, setting, reason) => {
    let caught: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).setting).toBe(setting);
    expect((caught as ConfigError).message).toMatch(new RegExp(`^${setting}: `));
    expect((caught as ConfigError).message).toMatch(reason);
  });

  it('generates APP_SECRET once outside production and keeps it in DATA_DIR', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-secret-'));
    try {
      const c = loadConfig({ DATA_DIR: dir });
      const first = resolveAppSecret(c);
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(resolveAppSecret(c)).toBe(first);
      expect(readFileSync(join(dir, 'app-secret'), 'utf8').trim()).toBe(first);
    } finally {
      removeTempDir(dir);
    }
  });

  it('uses APP_SECRET when given', () => {
    const secret = 's'.repeat(40);
    const dir = mkdtempSync(join(tmpdir(), 'onramp-secret-'));
    try {
      expect(resolveAppSecret(loadConfig({ APP_SECRET: secret, DATA_DIR: dir }))).toBe(secret);
    } finally {
      removeTempDir(dir);
    }
  });
});
