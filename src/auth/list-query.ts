import { SessionListOptionsException } from '../core/errors.js';
import { checkLimit, decodeCursor, MAX_LIST_LIMIT, showValue } from '../core/page.js';
import type { SessionListOptions } from '../core/types.js';

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
        `\`limit\` must be given once, as a whole number from 1 to ${MAX_LIST_LIMIT} (got ${showValue(limit)})`,
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
