import { Injectable, Logger, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import { SessionGuard } from './guard.js';

/**
 * `SessionGuard` as `globalGuard: true` registers it for every handler of the app. The same
 * checks, but a handler it has no way to authenticate (an RPC/microservice message: no
 * cookie, no header) is let through unchanged, unless it carries `@Roles()` or
 * `@RequireFreshSession()`: a global guard must not break a hybrid app's message handlers.
 * Those are refused even on a microservice that runs no global guard (`connectMicroservice`
 * without `{ inheritAppConfig: true }`): `SessionRpcGuards` puts this guard on them.
 */
@Injectable()
export class SessionGlobalGuard extends SessionGuard implements OnModuleInit {
  onModuleInit(): void {
    new Logger('SessionModule').log(
      'globalGuard: every HTTP route needs a session unless @Public(); RPC (microservice) handlers carry no session ' +
        'and are let through unless they have @Roles() or @RequireFreshSession(), which are refused, ' +
        'whether or not the microservice inherits the app config.',
    );
  }

  protected override onUnsupportedContext(_context: ExecutionContext, decorated: boolean): boolean {
    return !decorated;
  }
}
