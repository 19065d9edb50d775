import { applyDecorators } from '@nestjs/common';
import { ErrorResponseDto, LoginResponseDto, SessionDto, SessionListItemDto } from '../dto/session.js';
import { LoginDto } from '../dto/login.js';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiCookieAuth,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from './decorators.js';

// The OpenAPI documentation of AuthController, one decorator per route, kept here so the
// controller carries one line each. Without @nestjs/swagger every part is a no-op.
//
// Security schemes: the names are @nestjs/swagger's defaults, so an app declares them with
// `new DocumentBuilder().addCookieAuth('sid').addBearerAuth()` (the cookie name being
// `cookie.name`).

const error = (status: number, description: string) => ApiResponse({ status, description, type: ErrorResponseDto });

const clearsCookie = {
  'Set-Cookie': {
    description: "Clears the session cookie (Max-Age=0), unless transport is 'bearer'",
    schema: { type: 'string' },
  },
};

/** The session a guarded route needs: the cookie or `Authorization: Bearer`, per `transport`. */
const SessionAuth = () => applyDecorators(ApiCookieAuth(), ApiBearerAuth());

const unauthorized = () =>
  error(401, 'No valid session: missing, malformed, unknown, expired or revoked token, or two session cookies');

const crossSite = () => error(403, 'Cross-site request refused (with the csrf option)');

/** On the class: the tag, and the 503 every route can answer. */
export const AuthControllerDocs = () =>
  applyDecorators(
    ApiTags('auth'),
    error(503, 'Redis cannot answer (down, failing over, too slow): try again shortly. Never a 401 that logs users out.'),
  );

export const LoginDocs = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Log in',
      description:
        'Checks the credentials and starts a new session. Any session the request carried is destroyed ' +
        '(session fixation): the token is always a fresh one.',
    }),
    ApiConsumes('application/json'),
    ApiBody({ type: LoginDto }),
    ApiResponse({
      status: 200,
      description:
        "Logged in. The token comes as a cookie (unless transport is 'bearer') and in the body as `token` (unless transport is 'cookie').",
      type: LoginResponseDto,
      headers: {
        'Set-Cookie': {
          description: "The session cookie (HttpOnly), unless transport is 'bearer'",
          schema: { type: 'string' },
        },
      },
    }),
    error(400, 'The body fails validation: missing, empty, wrong type, unknown field, too long, or malformed JSON'),
    error(401, 'Invalid username or password (the same answer for an unknown user)'),
    error(415, 'The body is not JSON (what a cross-site HTML form sends)'),
    ApiResponse({
      status: 429,
      description: 'Too many failed logins for this username or from this address: try again later',
      type: ErrorResponseDto,
      headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
    }),
  );

export const LogoutDocs = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Log out',
      description: 'Ends the session the request carries, if any, and clears the cookie. Always 204.',
    }),
    SessionAuth(),
    ApiResponse({ status: 204, description: 'Logged out (also without a valid session)', headers: clearsCookie }),
    crossSite(),
  );

export const CurrentSessionDocs = () =>
  applyDecorators(
    ApiOperation({ summary: 'The current session' }),
    SessionAuth(),
    ApiResponse({ status: 200, description: 'The session the request carries', type: SessionDto }),
    unauthorized(),
  );

export const ListSessionsDocs = () =>
  applyDecorators(
    ApiOperation({
      summary: "The user's live sessions, a page at a time",
      description:
        'Newest first (by absolute deadline, i.e. login time; ties by id); `current` marks the one making the request. ' +
        'At most `limit` sessions per answer. While more remain, the answer carries `Link: <...>; rel="next"` and ' +
        '`X-Next-Cursor`; the last page has neither. A page can be shorter than `limit` (even empty) while more ' +
        'remain, when sessions end between the index read and the session read: follow the cursor until there is none.',
    }),
    SessionAuth(),
    ApiQuery({
      name: 'limit',
      required: false,
      description: 'Sessions per page, 1 to 1000',
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    }),
    ApiQuery({
      name: 'cursor',
      required: false,
      description: 'Where to continue: the `X-Next-Cursor` of the previous page, unchanged (opaque)',
      schema: { type: 'string' },
    }),
    ApiResponse({
      status: 200,
      description: "A page of the user's live sessions, newest first",
      type: SessionListItemDto,
      isArray: true,
      headers: {
        Link: {
          description: 'Only while more remain: `<path?limit=N&cursor=C>; rel="next"`, the next page (the path as requested)',
          schema: { type: 'string' },
        },
        'X-Next-Cursor': {
          description: 'Only while more remain: the `cursor` of the next page',
          schema: { type: 'string' },
        },
      },
    }),
    error(400, '`limit` not a whole number from 1 to 1000, `cursor` not one a previous page returned, or either given twice'),
    unauthorized(),
  );

export const RevokeSessionDocs = () =>
  applyDecorators(
    ApiOperation({ summary: "Revoke one of the user's sessions (log out a device)" }),
    SessionAuth(),
    ApiParam({ name: 'id', description: 'A public session id, as GET /auth/sessions lists it', type: String }),
    ApiResponse({ status: 204, description: 'Revoked (the cookie is cleared when it was the current session)' }),
    unauthorized(),
    crossSite(),
    error(404, "Not one of the user's live sessions"),
  );

export const LogoutAllDocs = () =>
  applyDecorators(
    ApiOperation({ summary: 'Log out everywhere', description: 'Revokes every session of the user, the current one included.' }),
    SessionAuth(),
    ApiResponse({ status: 204, description: 'Every session revoked', headers: clearsCookie }),
    unauthorized(),
    crossSite(),
  );
