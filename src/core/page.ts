import { SessionListOptionsException } from './errors.js';

/** Sessions per page when no `limit` is given. */
export const DEFAULT_LIST_LIMIT = 100;
/** The largest `limit`: a page costs one script call plus a `GET` and a `PTTL` per session. */
export const MAX_LIST_LIMIT = 1000;

/** A position in a user's index: the score (absolute expiry, ms) and the member (session id) of an entry. */
export interface IndexPosition {
  score: string;
  id: string;
}

// `<score>:<id>`: the score as Redis prints it (whole milliseconds), the 22-character public id.
const POSITION = /^([0-9]{1,16}):([A-Za-z0-9_-]{22})$/;
// base64url of at most 16 + 1 + 22 bytes, without padding.
const CURSOR = /^[A-Za-z0-9_-]{1,56}$/;

const BAD_CURSOR =
  '`cursor` is not one a previous page returned: pass the X-Next-Cursor value (or follow the Link header) unchanged, or leave it out for the first page';

/** The opaque cursor of the page that starts after this position: base64url of `<score>:<id>`. */
export function encodeCursor(position: IndexPosition): string {
  return Buffer.from(`${position.score}:${position.id}`, 'latin1').toString('base64url');
}

/** The position a cursor names; throws `SessionListOptionsException` for anything `encodeCursor` cannot have made. */
export function decodeCursor(cursor: unknown): IndexPosition {
  if (typeof cursor !== 'string' || !CURSOR.test(cursor)) throw new SessionListOptionsException(BAD_CURSOR);
  const bytes = Buffer.from(cursor, 'base64url');
  // Canonical only: one cursor per position (no padding, no stray bits in the last character).
  if (bytes.toString('base64url') !== cursor) throw new SessionListOptionsException(BAD_CURSOR);
  const match = POSITION.exec(bytes.toString('latin1'));
  if (!match || !Number.isSafeInteger(Number(match[1]))) throw new SessionListOptionsException(BAD_CURSOR);
  return { score: match[1], id: match[2] };
}

/** The page size to use; throws `SessionListOptionsException` unless it is a whole number from 1 to `MAX_LIST_LIMIT`. */
export function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new SessionListOptionsException(
      `\`limit\` must be a whole number from 1 to ${MAX_LIST_LIMIT} (got ${showValue(limit)})`,
    );
  }
  return limit;
}

/** A short, printable rendering of a bad value for an error message. */
export function showValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : Array.isArray(value)
        ? 'several values'
        : typeof value === 'object' && value !== null
          ? 'an object'
          : String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
