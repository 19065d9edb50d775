import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../metadata.js';

/** Lets a route (or every route of a controller) through `SessionGuard`, e.g. when it is global. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
