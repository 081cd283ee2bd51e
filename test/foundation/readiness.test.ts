import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateRedis, freePort } from '@onramp/cli';
import { startStack } from '../support/stack.js';
import { removeTempDir } from '../support/tempDir.js';

describe('/readyz follows Redis', () => {
  it('answers 503 problem+json when Redis is stopped and 200 again when it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-ready-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    let redis = await startPrivateRedis(join(dir, 'a'), { port, attach: false });
    const stack = await startStack({ worker: false, smtp: false, env: { REDIS_URL: redis.url } });
    try {
      expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
      await redis.stop();
      const down = await fetch(`${stack.url}/readyz`);
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toMatch(/problem\+json/);
      const body = (await down.json()) as { code: string; checks: Record<string, string> };
      expect(body.code).toBe('unavailable');
      expect(body.checks.database).toBe('ok');
      expect(body.checks.redis).toMatch(/unreachable/);
      // /healthz is about the process only.
      expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);

      redis = await startPrivateRedis(join(dir, 'b'), { port, attach: false });
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await fetch(`${stack.url}/readyz`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
    } finally {
      await stack.close();
      await redis.stop();
      removeTempDir(dir);
    }
  }, 60_000);
});
