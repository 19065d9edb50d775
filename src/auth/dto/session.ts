import type { LoginResponse } from '../types.js';
import { ApiProperty, ApiPropertyOptional } from '../openapi/decorators.js';
import type { Session, SessionListItem, SessionUser } from '../../core/types.js';

// Response shapes for the OpenAPI document only: the routes return plain objects, and
// nothing instantiates these classes. Each implements the type the route really returns,
// so the compiler keeps the documentation in step with it.

const dateTime = (description: string, example: string) =>
  ApiProperty({ type: String, format: 'date-time', description, example });

/** A session as the routes return it (`GET /auth/session`, the login response). */
export class SessionDto implements Session {
  @ApiProperty({
    description:
      'Public session id (a hash of the token): names the session in lists and in DELETE /auth/sessions/{id}; never usable as a token',
    example: 'JHgXiPBG83uITy48GeO61g',
  })
  id!: string;

  /** The user id, with the type `validateCredentials` gave it. */
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'integer' }],
    description: 'The user id, with the type validateCredentials gave it',
    example: 1,
  })
  userId!: string | number;

  /** The username, or null. */
  @ApiProperty({ type: String, nullable: true, example: 'alice' })
  username!: string | null;

  /** The role `@Roles()` checks, or null. */
  @ApiProperty({ type: String, nullable: true, example: 'admin' })
  role!: string | null;

  /** Login time. */
  @dateTime('Login time', '2026-11-23T00:03:35.789Z')
  createdAt!: Date;

  @dateTime('The last validated request', '2026-11-23T00:10:02.113Z')
  lastActivityAt!: Date;

  @dateTime('min(lastActivityAt + ttl, absoluteExpiresAt): when the session ends if unused', '2026-11-23T00:40:02.113Z')
  expiresAt!: Date;

  @dateTime('createdAt + absoluteTtl: sliding never goes past it', '2026-11-23T12:03:35.789Z')
  absoluteExpiresAt!: Date;

  /** Client address at login, or null. */
  @ApiProperty({ type: String, nullable: true, description: 'Client address at login', example: '203.0.113.7' })
  ip!: string | null;

  /** `User-Agent` at login, or null. */
  @ApiProperty({ type: String, nullable: true, description: 'User-Agent at login', example: 'Mozilla/5.0 ...' })
  userAgent!: string | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Custom data: the extra keys of the user validateCredentials returned; present only when there are some',
    example: { team: 'core' },
  })
  data?: Record<string, unknown>;
}

/** An entry of `GET /auth/sessions`. */
export class SessionListItemDto extends SessionDto implements SessionListItem {
  @ApiProperty({ description: 'True for the session that made the request' })
  current!: boolean;
}

/** The user in the login response: id, username, role and custom data; never a password. */
class SessionUserDto implements SessionUser {
  [key: string]: unknown;

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'integer' }], example: 1 })
  id!: string | number;

  @ApiPropertyOptional({ example: 'alice' })
  username?: string;

  @ApiPropertyOptional({ example: 'admin' })
  role?: string;
}

/** The body of `200` from `POST /auth/login`. */
export class LoginResponseDto implements LoginResponse {
  /** The user, with any custom data as extra keys. */
  @ApiProperty({ type: () => SessionUserDto, description: 'The user, with any custom data as extra keys' })
  user!: SessionUserDto;

  /** The new session. */
  @ApiProperty({ type: () => SessionDto })
  session!: SessionDto;

  @ApiPropertyOptional({
    description: "The session token, only when transport is 'bearer' or 'both': send it as Authorization: Bearer <token>",
  })
  token?: string;

  @ApiPropertyOptional({
    description: 'With csrf.doubleSubmit: the value to echo in the CSRF header (also in the <cookie.name>_csrf cookie)',
  })
  csrfToken?: string;
}

/** Nest's error body. */
export class ErrorResponseDto {
  @ApiProperty({ example: 401 })
  statusCode!: number;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'What went wrong; a list of problems for a body that fails validation',
    example: 'Invalid or expired session',
  })
  message!: string | string[];

  @ApiPropertyOptional({ example: 'Unauthorized' })
  error?: string;
}
