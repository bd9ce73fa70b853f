// Keyset pagination over time-ordered UUIDv7 primary keys: `?limit=&cursor=`, where the cursor is an
// opaque token naming the last row of the previous page. Unlike OFFSET, a page costs the same at any
// depth and rows inserted meanwhile neither repeat nor vanish.
import { z } from 'zod';
import { isUuid } from './uuid.js';

export const defaultPageSize = 20;
export const maxPageSize = 100;

function encodeCursor(id: string): string {
  return btoa(`v1:${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The id a cursor names, or undefined when the string is not a cursor we issued. */
export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  if (!text.startsWith('v1:')) return undefined;
  const id = text.slice(3);
  return isUuid(id) ? id.toLowerCase() : undefined;
}

export const pageQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `limit must be an integer from 1 to ${maxPageSize}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, `limit must be an integer from 1 to ${maxPageSize}`)
        .max(maxPageSize, `limit must be an integer from 1 to ${maxPageSize}`),
    )
    .optional(),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const id = decodeCursor(value);
      if (id === undefined) {
        ctx.addIssue({ code: 'custom', message: 'cursor is not one this API issued' });
        return z.NEVER;
      }
      return id;
    })
    .optional(),
});

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Builds a page from `limit + 1` fetched rows: the extra row only tells whether more exist. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
