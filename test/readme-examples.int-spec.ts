import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import ts from 'typescript';
import { ConfigAppModule } from './readme-examples/config-app.module.js';
import { SharedClientAppModule } from './readme-examples/shared-client.module.js';
import { sessionCookie } from './support/http.js';
import { testRedisUrl } from './support/redis.js';

/**
 * The recipes of the README and of the guides under docs/ (GraphQL, WebSocket gateways, SSE,
 * custom sign-in routes, testing...) are copies of files in test/readme-examples/: each snippet
 * follows a `<!-- example: test/readme-examples/<file>.ts -->` line and must appear in that file
 * as written. This test type-checks those files with the project's compiler options, so a
 * snippet that stops compiling (a renamed export, a changed signature) fails here; the e2e suites
 * import the gateways and the SSE controller and run them over real servers.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The README and every guide: a snippet is checked wherever it is. */
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const MARKER = /<!-- example: (test\/readme-examples\/[\w.-]+\.ts) -->\r?\n```ts\r?\n([\s\S]*?)\r?\n```/g;

/** The recipes issue 11 asked for, each with a compiled snippet, in the document that shows it. */
const REQUIRED: Record<string, string[]> = {
  // The quick start and the short recipe per transport.
  'README.md': [
    'test/readme-examples/app.module.ts',
    'test/readme-examples/profile.controller.ts',
    'test/readme-examples/profile.resolver.ts',
    'test/readme-examples/chat.gateway.ts',
    'test/readme-examples/events.controller.ts',
  ],
  'docs/options.md': ['test/readme-examples/config-app.module.ts'],
  'docs/operations.md': ['test/readme-examples/shared-client.module.ts'],
  'docs/sessions.md': [
    'test/readme-examples/sso.controller.ts',
    'test/readme-examples/cart.controller.ts', // issue 18: the cart, with SessionOps
  ],
  'docs/transports.md': [
    'test/readme-examples/profile.resolver.ts',
    'test/readme-examples/chat.gateway.ts',
    'test/readme-examples/ws-chat.gateway.ts',
    'test/readme-examples/events.controller.ts',
  ],
  // "Testing your app" (issue 18): the e2e and unit recipes, Jest runs each as it is.
  'docs/testing.md': [
    'test/readme-examples/profile.e2e-spec.ts',
    'test/readme-examples/chat.gateway.e2e-spec.ts',
    'test/readme-examples/profile.controller.spec.ts',
    'test/readme-examples/user-id.decorator.ts',
  ],
};

const snippets = DOCS.flatMap((doc) =>
  [...readFileSync(join(ROOT, doc), 'utf8').matchAll(MARKER)].map((match) => ({ doc, file: match[1], code: match[2] })),
);

describe('README and guide recipes', () => {
  it.each(Object.entries(REQUIRED))('%s has its recipes, each snippet tied to a file', (doc, files) => {
    const shown = new Set(snippets.filter((s) => s.doc === doc).map((s) => s.file));
    expect([...shown].sort()).toEqual(expect.arrayContaining([...files].sort()));
  });

  it.each(snippets.map((s) => [s.file, s.doc, s.code] as const))(
    'the snippet of %s in %s is that file, as written',
    (file, _doc, code) => {
      // The files import the package from its source; the docs, as users write it.
      const source = readFileSync(join(ROOT, file), 'utf8')
        .replaceAll("'../../src/index.js'", "'nestjs-redis-session'")
        .replaceAll("'../../src/testing/index.js'", "'nestjs-redis-session/testing'");
      expect(source).toContain(code);
    },
  );

  it('the files compile with the project’s options (strict)', () => {
    const configPath = join(ROOT, 'tsconfig.json');
    const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const files = [...new Set(snippets.map((s) => join(ROOT, s.file)))];
    const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  }, 60_000);
});

describe('README app modules boot as written', () => {
  const env = { ...process.env };
  beforeAll(() => {
    process.env.REDIS_URL = testRedisUrl();
    process.env.SESSION_TTL = '900'; // a string, as every environment value is
  });
  afterAll(() => {
    process.env = env;
  });

  const boot = async (module: Type, login: { username: string; password: string }) => {
    const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const res = await request(app.getHttpServer()).post('/auth/login').send(login);
      if (res.status === 200) {
        await request(app.getHttpServer()).post('/auth/logout').set('Cookie', sessionCookie(res));
      }
      return res;
    } finally {
      await app.close();
    }
  };

  it('forRoot: boots; every login is a 401 until validateCredentials is filled in', async () => {
    // Imported once REDIS_URL is set: the README's module reads it as it is declared (a static
    // import would run first and fall back to localhost:6379, a Redis the tests must leave alone).
    const { AppModule } = await import('./readme-examples/app.module.js');
    expect((await boot(AppModule, { username: 'ann', password: 'ann-password' })).status).toBe(401);
  });

  it('forRootAsync with ConfigService: SESSION_TTL=900 from the environment becomes a 900 s idle timeout', async () => {
    const res = await boot(ConfigAppModule, { username: 'ann', password: 'ann-password' });
    expect(res.status).toBe(200);
    const session = res.body.session as { createdAt: string; expiresAt: string };
    expect(Date.parse(session.expiresAt) - Date.parse(session.createdAt)).toBe(900_000);
  });

  it("forRootAsync with the app's own client: boots, logs in, and leaves the client open", async () => {
    expect((await boot(SharedClientAppModule, { username: 'ann', password: 'ann-password' })).status).toBe(200);
  });
});
