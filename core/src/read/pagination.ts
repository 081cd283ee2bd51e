import { z } from 'zod';
import { AppError } from '../errors/AppError.js';

/** Opaque cursor: the `seq` of the last item seen. Stable under inserts, index-friendly. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined || cursor === '') return null;
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s:(\d{1,18})$/.exec(raw);
  if (!m) {
    throw new AppError('validation_failed', 'Validation failed', { errors: [{ field: 'cursor', message: 'is not a cursor this API issued' }] });
  }
  return Number(m[1]);
}

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(25),
  cursor: z.string().max(200).optional(),
});

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Fetch limit+1 rows; the extra one only says whether there is a next page. */
export function toPage<R extends { seq: number }, T>(rows: R[], limit: number, map: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { data: items.map(map), next_cursor: more ? encodeCursor(items[items.length - 1]!.seq) : null };
}

export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), next_cursor: z.string().nullable() });
