import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const stop = (globalThis as Record<string, unknown>).__onrampStop as (() => Promise<void>) | undefined;
  await stop?.();
  if (process.env.TEST_ROOT_DIR) rmSync(process.env.TEST_ROOT_DIR, { recursive: true, force: true });
}
