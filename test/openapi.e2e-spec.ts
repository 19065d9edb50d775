import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { createTestApp } from './support/app.js';
import { appWithPackage, type AppDir } from './support/package-copy.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';

// Most of these run the package compiled from src/ in plain Node, in an app directory of
// its own (outside the repo, so a package left out of its node_modules cannot be found),
// as an app that installed it would.

const lastLine = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, any>;

describe('without @nestjs/swagger and @nestjs/terminus installed', () => {
  let app: AppDir;
  beforeAll(() => {
    app = appWithPackage(['@nestjs/swagger', '@nestjs/terminus']);
  });
  afterAll(() => app?.remove());

  it('the package loads (ESM), its OpenAPI decorators record nothing, and login works', async () => {
    const { stdout, stderr } = await app.run('without-peers.mjs', {
      NRS_REDIS_URL: testRedisUrl(),
      NRS_KEY_PREFIX: uniquePrefix('no-swagger'),
    });
    const result = lastLine(stdout);
    expect(result['@nestjs/swagger']).toBe('missing');
    expect(result['@nestjs/terminus']).toBe('missing');
    expect(result.exports).toEqual(['SessionModule', 'SessionService', 'SessionGuard', 'AuthController', 'LoginDto']);
    expect(result.openApiAvailable).toBe(false);
    expect(result.swaggerMetadata).toEqual([]);
    // Only the /health entry point needs terminus.
    expect(result.health).toMatch(/^ERR_MODULE_NOT_FOUND: .*'@nestjs\/terminus'/);
    expect(result.routes).toEqual({ login: 200, session: 200, username: 'alice', logout: 204 });
    expect(stderr).not.toMatch(/NRS_SWAGGER_UNAVAILABLE|Warning/);
  });

  it('a CommonJS app can require() the package (no top-level await anywhere)', async () => {
    const result = lastLine((await app.run('require.cjs')).stdout);
    expect(result).toEqual({
      SessionModule: 'function',
      health: expect.stringMatching(/MODULE_NOT_FOUND: .*'@nestjs\/terminus'/),
      openApiAvailable: false,
    });
  });
});

describe('with @nestjs/swagger and @nestjs/terminus installed (the demo)', () => {
  let app: AppDir;
  let result: Record<string, any>;
  let stderr: string;
  beforeAll(async () => {
    app = appWithPackage([]);
    const output = await app.run('with-peers.mjs', { NRS_REDIS_URL: testRedisUrl(), NRS_KEY_PREFIX: uniquePrefix('docs') });
    result = lastLine(output.stdout);
    stderr = output.stderr;
  }, 60_000);
  afterAll(() => app?.remove());

  const responseCodes = (path: string, method: string) => Object.keys(result.document.paths[path][method].responses).sort();

  it('finds @nestjs/swagger without a warning, though the package is imported before it', () => {
    expect(result.openApiAvailable).toBe(true);
    expect(stderr).not.toMatch(/NRS_SWAGGER_UNAVAILABLE|Warning/);
  });

  it('a CommonJS app can require() the package and its /health entry point', async () => {
    const output = await app.run('require.cjs');
    expect(lastLine(output.stdout)).toEqual({ SessionModule: 'function', health: 'function', openApiAvailable: true });
    expect(output.stderr).not.toMatch(/NRS_SWAGGER_UNAVAILABLE/);
  });

  it('/docs-json documents every /auth route with every status of the contract', () => {
    expect(responseCodes('/auth/login', 'post')).toEqual(['200', '400', '401', '415', '429', '503']);
    expect(responseCodes('/auth/logout', 'post')).toEqual(['204', '403', '503']);
    expect(responseCodes('/auth/session', 'get')).toEqual(['200', '401', '503']);
    expect(responseCodes('/auth/sessions', 'get')).toEqual(['200', '400', '401', '503']);
    expect(responseCodes('/auth/sessions/{id}', 'delete')).toEqual(['204', '401', '403', '404', '503']);
    expect(responseCodes('/auth/logout-all', 'post')).toEqual(['204', '401', '403', '503']);
    for (const [path, methods] of Object.entries(result.document.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith('/auth/')) continue;
      for (const operation of Object.values(methods)) expect(operation.tags).toEqual(['auth']);
    }
  });

  it('describes the bodies: LoginDto in, LoginResponseDto and SessionDto out', () => {
    const login = result.document.paths['/auth/login'].post;
    expect(login.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/LoginDto' });
    expect(login.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/LoginResponseDto' });
    const schemas = result.document.components.schemas;
    expect(schemas.LoginDto).toMatchObject({
      type: 'object',
      required: ['username', 'password'],
      properties: {
        username: { type: 'string', minLength: 1, maxLength: 256 },
        password: { type: 'string', minLength: 1, maxLength: 1024, format: 'password' },
      },
    });
    expect(schemas.LoginResponseDto.required).toEqual(['user', 'session']);
    expect(schemas.SessionDto.required).toEqual([
      'id',
      'userId',
      'username',
      'role',
      'createdAt',
      'lastActivityAt',
      'expiresAt',
      'absoluteExpiresAt',
      'ip',
      'userAgent',
    ]);
    expect(schemas.SessionDto.properties.expiresAt).toMatchObject({ type: 'string', format: 'date-time' });
    expect(schemas.SessionDto.properties.userId.oneOf).toEqual([{ type: 'string' }, { type: 'integer' }]);
    expect(schemas.SessionListItemDto.properties.current).toMatchObject({ type: 'boolean' });
    const list = result.document.paths['/auth/sessions'].get.responses['200'].content['application/json'].schema;
    expect(list).toEqual({ type: 'array', items: { $ref: '#/components/schemas/SessionListItemDto' } });
    // Pagination: ?limit and ?cursor in, Link and X-Next-Cursor out.
    const sessions = result.document.paths['/auth/sessions'].get;
    expect(sessions.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'limit',
          in: 'query',
          required: false,
          schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
        }),
        expect.objectContaining({ name: 'cursor', in: 'query', required: false, schema: { type: 'string' } }),
      ]),
    );
    expect(Object.keys(sessions.responses['200'].headers).sort()).toEqual(['Link', 'X-Next-Cursor']);
    expect(schemas.ErrorResponseDto.properties).toHaveProperty('statusCode');
  });

  it('declares cookie and bearer auth on the routes that need a session', () => {
    expect(result.document.components.securitySchemes).toMatchObject({
      cookie: { type: 'apiKey', in: 'cookie', name: 'sid' },
      bearer: { type: 'http', scheme: 'bearer' },
    });
    for (const [path, method] of [
      ['/auth/session', 'get'],
      ['/auth/sessions', 'get'],
      ['/auth/sessions/{id}', 'delete'],
      ['/auth/logout-all', 'post'],
    ]) {
      expect(result.document.paths[path][method].security).toEqual([{ cookie: [] }, { bearer: [] }]);
    }
    expect(result.document.paths['/auth/login'].post.security).toBeUndefined();
  });

  it('serves Swagger UI at /docs without the login page Content-Security-Policy, which stays on /', () => {
    expect(result.docs).toMatchObject({ status: 200, swaggerUi: true, csp: null });
    expect(result.docs.contentType).toMatch(/^text\/html/);
    expect(result.page.status).toBe(200);
    expect(result.page.csp).toContain("default-src 'none'");
  });

  it("the demo's /health is in the document and answers up", () => {
    expect(result.document.paths['/health'].get.tags).toEqual(['health']);
    expect(result.health).toMatchObject({ status: 200, body: { status: 'ok', info: { redis: { status: 'up' } } } });
  });
});

describe('in a Jest test of an app', () => {
  it('documents the /auth routes too (the decorators apply once SessionModule is instantiated)', async () => {
    const t = await createTestApp();
    try {
      const document = SwaggerModule.createDocument(t.app, new DocumentBuilder().addCookieAuth('sid').addBearerAuth().build());
      expect(Object.keys(document.paths['/auth/login'].post!.responses).sort()).toEqual([
        '200',
        '400',
        '401',
        '415',
        '429',
        '503',
      ]);
      expect(document.components?.schemas?.LoginDto).toBeDefined();
    } finally {
      await t.close();
    }
  });
});
