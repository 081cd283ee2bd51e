import type { Response } from 'express';

/**
 * A CSV download written chunk by chunk as its generator yields them (an import with 100k bad rows is never
 * one string), waiting for the socket to drain, as an attachment named `filename`.
 */
export async function streamCsv(res: Response, filename: string, chunks: AsyncIterable<string>): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  for await (const chunk of chunks) {
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}
