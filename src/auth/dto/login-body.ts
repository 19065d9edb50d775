import { BadRequestException, UnsupportedMediaTypeException, type ArgumentMetadata } from '@nestjs/common';
import type { Measured } from '../../core/counters.js';
import { LoginBodyPipe } from './login-body-pipe.js';
import { LoginDto } from './login.js';

/**
 * The largest login body the module reads, in bytes. The longest valid body (a 256-character
 * username and a 1024-character password, every character a 6-byte `\uXXXX` escape) is
 * under 8 KB; anything larger is refused before it is looked at.
 */
export const MAX_LOGIN_BODY_BYTES = 8192;

const LOGIN_BODY_TOO_LARGE = `Login body too large (over ${MAX_LOGIN_BODY_BYTES} bytes)`;

/**
 * Reading (or checking the headers of) a login body: nothing counted when it is accepted (the
 * attempt is counted by `LoginService`), a login `invalid` when it is refused.
 */
export const LOGIN_BODY_CHECK: Measured = { series: 'login', success: null, failure: () => 'invalid' };

/** The request parts the login body is read from. */
export interface LoginBodyRequest {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

const pipe = new LoginBodyPipe();
const METADATA: ArgumentMetadata = { type: 'body', metatype: LoginDto, data: '' };

/**
 * The validated body of `POST /auth/login`: 415 unless it came as JSON, 400 when it is too
 * large, not an object, has any key but `username` and `password`, or fails LoginDto.
 * Every check before class-validator is flat: a body nested 50,000 levels deep is refused
 * by a `typeof`, never walked (class-transformer's recursion overflowed the stack: a 500
 * and a stalled event loop).
 */
export async function readLoginBody(request: LoginBodyRequest): Promise<LoginDto> {
  checkLoginHeaders(request.headers);
  const body = request.body;
  if (body !== undefined && body !== null) {
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequestException('The login body must be a JSON object { username, password }');
    }
    checkFlat(body as Record<string, unknown>);
  }
  return (await pipe.transform(body, METADATA)) as LoginDto;
}

/**
 * What can be refused from the headers alone, in the handler's order: 415 for a body that is
 * not JSON, then 400 for one declared larger than `MAX_LOGIN_BODY_BYTES`.
 */
export function checkLoginHeaders(headers: LoginBodyRequest['headers']): void {
  const contentType = headers['content-type'];
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    // Login CSRF: a cross-site HTML form can post urlencoded, multipart or text/plain, and
    // the browser keeps the cookie it gets back; it cannot send JSON.
    throw new UnsupportedMediaTypeException('This route takes an application/json body');
  }
  if (declaredLength(headers['content-length']) > MAX_LOGIN_BODY_BYTES) throw new BadRequestException(LOGIN_BODY_TOO_LARGE);
}

/**
 * Every own key but username and password is refused first: `whitelist` cannot see a JSON
 * `__proto__` key (class-transformer assigns it as the prototype), nor keys named like
 * Object.prototype methods (`toString`, `valueOf`: class-transformer skips them). A present
 * username or password must be a string: arrays and objects are never handed on.
 */
function checkFlat(body: Record<string, unknown>): void {
  const problems: string[] = [];
  for (const key of Object.keys(body)) {
    if (key === 'rememberMe') {
      if (typeof body[key] !== 'boolean' && body[key] !== undefined) problems.push('rememberMe must be a boolean value');
    } else if (key !== 'username' && key !== 'password') {
      if (problems.length < 10) problems.push(`property ${key} should not exist`);
    } else if (typeof body[key] !== 'string' && body[key] !== undefined) {
      problems.push(`${key} must be a string`);
    }
  }
  if (problems.length > 0) throw new BadRequestException(problems);
}

/** The Content-Length the client declared, or 0 when it sent none (chunked: the parsed values are capped by LoginDto). */
function declaredLength(header: string | string[] | undefined): number {
  if (typeof header !== 'string') return 0;
  const length = Number(header);
  return Number.isFinite(length) ? length : 0;
}

function isJsonContentType(header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  // Only what Express and Fastify parse by default: an `application/*+json` body would
  // arrive unparsed (a misleading 400 on Express), so it gets a plain 415 instead.
  return type === 'application/json';
}
