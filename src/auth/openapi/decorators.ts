// Types only: erased from the JavaScript, so nothing here loads @nestjs/swagger by itself.
import type * as SwaggerTypes from '@nestjs/swagger';

/**
 * The `@nestjs/swagger` decorators the library documents its routes and bodies with.
 * `@nestjs/swagger` is an optional peer dependency: the library must load and run
 * without it, and then these decorators do nothing.
 *
 * When a class is decorated, nothing is loaded: each decorator call is recorded, and
 * `loadOpenApi()` (run by `SessionModule` while Nest instantiates the app, so before any
 * `SwaggerModule.createDocument(app, ...)`) imports `@nestjs/swagger` with a dynamic
 * `import()` and replays the calls on it; later calls apply at once. Why not load it on
 * the spot with a synchronous `require()` of the ES module:
 * - on Node 22.12 to 22.16, when the app's own imports lead to this package before they
 *   lead to `@nestjs/swagger`, that `require()` throws ERR_REQUIRE_CYCLE_MODULE (22.12,
 *   22.14) or returns the module before it has run (22.16: a TDZ error that crashes the app);
 * - Jest's `require()` cannot load ES modules before Node 24.9.
 * And top-level `await` is out: CommonJS apps load this package through `require(esm)`,
 * which refuses a module graph that has one.
 */
type Swagger = typeof SwaggerTypes;
type DecoratorName =
  | 'ApiTags'
  | 'ApiOperation'
  | 'ApiResponse'
  | 'ApiBody'
  | 'ApiConsumes'
  | 'ApiParam'
  | 'ApiQuery'
  | 'ApiCookieAuth'
  | 'ApiBearerAuth'
  | 'ApiProperty'
  | 'ApiPropertyOptional';

interface Application {
  name: DecoratorName;
  args: unknown[];
  target: object;
  key?: string | symbol;
  descriptor?: PropertyDescriptor;
}

/** undefined: not looked for yet; null: not installed (or unloadable). */
let swagger: Swagger | null | undefined;
let pending: Application[] = [];
let loading: Promise<boolean> | undefined;

function apply(loaded: Swagger, { name, args, target, key, descriptor }: Application): void {
  const factory = loaded[name] as (...options: unknown[]) => (...targets: unknown[]) => unknown;
  const decorator = factory(...args);
  if (key === undefined) decorator(target);
  else decorator(target, key, descriptor);
}

function deferred<Name extends DecoratorName>(name: Name): Swagger[Name] {
  const factory =
    (...args: unknown[]) =>
    (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
      const application = { name, args, target, key, descriptor };
      if (swagger) apply(swagger, application);
      else if (swagger === undefined) pending.push(application);
    };
  return factory as unknown as Swagger[Name];
}

/**
 * Imports `@nestjs/swagger` once and applies every decorator recorded so far. Resolves
 * with whether it is available; never rejects (without it the docs are simply absent).
 */
export function loadOpenApi(): Promise<boolean> {
  loading ??= (async () => {
    try {
      swagger = (await import('@nestjs/swagger')) as Swagger;
    } catch (err) {
      swagger = null;
      if (!isNotInstalled(err)) {
        // Installed but unloadable (a broken install): the library still works, only
        // its routes go undocumented; say why once.
        process.emitWarning(
          `@nestjs/swagger is installed but could not be loaded (${err instanceof Error ? err.message : String(err)}); ` +
            'the /auth routes will be missing from the OpenAPI document',
          { code: 'NRS_SWAGGER_UNAVAILABLE' },
        );
      }
    }
    const recorded = pending;
    pending = [];
    if (swagger) for (const application of recorded) apply(swagger, application);
    return swagger !== null;
  })();
  return loading;
}

/** Not installed at all, as opposed to a missing dependency of it or any other failure. */
function isNotInstalled(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    /['"]@nestjs\/swagger['"]/.test(String((err as Error).message))
  );
}

export const ApiTags = deferred('ApiTags');
export const ApiOperation = deferred('ApiOperation');
export const ApiResponse = deferred('ApiResponse');
export const ApiBody = deferred('ApiBody');
export const ApiConsumes = deferred('ApiConsumes');
export const ApiParam = deferred('ApiParam');
export const ApiQuery = deferred('ApiQuery');
export const ApiCookieAuth = deferred('ApiCookieAuth');
export const ApiBearerAuth = deferred('ApiBearerAuth');
export const ApiProperty = deferred('ApiProperty');
export const ApiPropertyOptional = deferred('ApiPropertyOptional');

/**
 * In `SessionModule`'s providers: Nest awaits this factory while it instantiates the app,
 * so the documentation is in place before `SwaggerModule.createDocument(app, ...)`.
 */
export const openApiProvider = {
  provide: Symbol('nestjs-redis-session:openapi'),
  useFactory: loadOpenApi,
};
