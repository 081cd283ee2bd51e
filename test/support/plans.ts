import type { PoolClient } from '@onramp/core';

/** A connection of the stack's pool: what a request or a job runs its statements on. */
export type Connection = PoolClient;

/**
 * Runs fn on c with auto_explain on, and returns what it returned with the buffers each statement read (shared
 * blocks hit or read, the plan's own figure: never a time). Call it outside a transaction: a SELECT's plan is
 * logged when its portal closes, which is at the end of the statement's implicit transaction.
 */
export async function withBuffers<T>(c: Connection, fn: () => Promise<T>): Promise<{ result: T; buffers: number[] }> {
  await c.query(`load 'auto_explain'`);
  await c.query(`set auto_explain.log_min_duration = 0`);
  await c.query(`set auto_explain.log_analyze = on`);
  await c.query(`set auto_explain.log_buffers = on`);
  await c.query(`set auto_explain.log_format = json`);
  // As a notice, so the plan comes back on this connection instead of going to the server's log.
  await c.query(`set auto_explain.log_level = notice`);
  const buffers: number[] = [];
  const onNotice = (n: { message?: string }) => {
    const m = n.message ?? '';
    if (!m.startsWith('duration:')) return;
    const plan = (JSON.parse(m.slice(m.indexOf('{'))) as { Plan: Record<string, number> }).Plan;
    buffers.push(plan['Shared Hit Blocks']! + plan['Shared Read Blocks']!);
  };
  c.on('notice', onNotice);
  try {
    return { result: await fn(), buffers };
  } finally {
    c.off('notice', onNotice);
    await c.query(`set auto_explain.log_min_duration = -1`);
  }
}
