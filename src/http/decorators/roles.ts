import { SetMetadata } from '@nestjs/common';
import { ROLES_KEY } from '../metadata.js';

/**
 * `SessionGuard` answers 403 unless the session's role is one of `roles`.
 * On a handler it overrides the controller's list.
 */
export const Roles = (...roles: string[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);
