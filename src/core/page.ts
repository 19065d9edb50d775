import { SessionListOptionsException } from './errors.js';
import type { SessionListOptions } from './types.js';

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
    throw new SessionListOptionsException(`\`limit\` must be a whole number from 1 to ${MAX_LIST_LIMIT} (got ${show(limit)})`);
  }
  return limit;
}

/**
 * `?limit=` and `?cursor=` of `GET /auth/sessions`, as Express or Fastify parsed them. Each
 * must come at most once, as a plain string (a repeated key is an array, `limit[a]=1` an
 * object on Express): anything else is a `SessionListOptionsException` (400), never a 500.
 */
export function parseListQuery(query: unknown): SessionListOptions {
  const params = typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
  const options: SessionListOptions = {};
  const limit = Object.hasOwn(params, 'limit') ? params.limit : undefined;
  if (limit !== undefined) {
    if (typeof limit !== 'string' || !/^[0-9]{1,4}$/.test(limit)) {
      throw new SessionListOptionsException(
        `\`limit\` must be given once, as a whole number from 1 to ${MAX_LIST_LIMIT} (got ${show(limit)})`,
      );
    }
    options.limit = checkLimit(Number(limit));
  }
  const cursor = Object.hasOwn(params, 'cursor') ? params.cursor : undefined;
  if (cursor !== undefined) {
    decodeCursor(cursor);
    options.cursor = cursor as string;
  }
  return options;
}

/** A short, printable rendering of a bad value for an error message. */
function show(value: unknown): string {
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

// What may stay as is in the path of a URI reference (RFC 3986 pchar and '/', '%' of existing escapes).
const PATH_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g;

/**
 * The `Link` target of the next page: the path of the request as the client sent it (so it
 * carries any global prefix, on Express and Fastify alike) with `?limit=&cursor=`. Characters
 * that cannot stand in a URI path (nor in a header) are percent-encoded; a leading `//` (a
 * reference to another host) is folded to `/`.
 */
export function nextPageTarget(request: { originalUrl?: unknown; url?: unknown }, limit: number, cursor: string): string {
  const url = typeof request.originalUrl === 'string' ? request.originalUrl : typeof request.url === 'string' ? request.url : '/';
  const end = url.search(/[?#]/);
  const path = (end === -1 ? url : url.slice(0, end))
    .replace(PATH_SAFE, (c) => {
      const code = c.charCodeAt(0);
      return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c);
    })
    .replace(/^\/*/, '/');
  return `${path}?limit=${limit}&cursor=${encodeURIComponent(cursor)}`;
}
