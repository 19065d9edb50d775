import { createParamDecorator, UnsupportedMediaTypeException, type ExecutionContext } from '@nestjs/common';

/**
 * The request body, only when it was sent as JSON (or without a body at all): 415
 * otherwise. Login CSRF: a cross-site HTML form can post urlencoded, multipart or
 * text/plain, and the browser keeps the cookie it gets back; it cannot send JSON.
 * A param decorator rather than a check in the handler, so it runs before the pipes.
 */
export const JsonBody = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; body?: unknown }>();
  const contentType = request.headers['content-type'];
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    throw new UnsupportedMediaTypeException('This route takes an application/json body');
  }
  return request.body;
});

function isJsonContentType(header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const semicolon = header.indexOf(';');
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  // Only what Express and Fastify parse by default: an `application/*+json` body would
  // arrive unparsed (a misleading 400 on Express), so it gets a plain 415 instead.
  return type === 'application/json';
}
