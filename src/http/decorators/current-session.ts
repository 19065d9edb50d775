import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { contextAdapterOf } from '../contexts/index.js';
import { SESSION_REQUEST_KEY } from '../metadata.js';
import type { Session } from '../../core/types.js';

/**
 * The session `SessionGuard` validated for this request: `@CurrentSession() session: Session`,
 * or one field of it: `@CurrentSession('userId') userId: string`.
 * Undefined on a route the guard did not run on (or a `@Public()` one). Works in REST handlers,
 * GraphQL resolvers and gateway message handlers alike.
 */
export const CurrentSession = createParamDecorator((field: keyof Session | undefined, context: ExecutionContext) => {
  const holder = contextAdapterOf(context).holder(context) as { [SESSION_REQUEST_KEY]?: Session } | undefined;
  const session = holder?.[SESSION_REQUEST_KEY];
  return field ? session?.[field] : session;
});
