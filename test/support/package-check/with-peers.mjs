// The demo app as `npm start` builds it, from the compiled package with @nestjs/swagger
// and @nestjs/terminus installed: /docs, /docs-json, / and /health. Prints one JSON line.
import 'reflect-metadata';
// Static imports, the package's first: its modules run before @nestjs/swagger's (the order
// in which a synchronous require() of swagger would fail or crash on Node 22.12-22.16).
import { AppModule } from './node_modules/nestjs-redis-session/demo/app.module.js';
import { setupDemoDocs } from './node_modules/nestjs-redis-session/demo/docs.js';
import { demoAccounts } from './node_modules/nestjs-redis-session/demo/users.js';
import { loadOpenApi } from './node_modules/nestjs-redis-session/dist/auth/openapi/decorators.js';
import { NestFactory } from '@nestjs/core';

const app = await NestFactory.create(
  AppModule.forRoot({ redisUrl: process.env.NRS_REDIS_URL, keyPrefix: process.env.NRS_KEY_PREFIX, accounts: demoAccounts() }),
  { logger: false },
);
setupDemoDocs(app);
await app.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
const get = async (path) => {
  const response = await fetch(base + path);
  return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
};
const [docsJson, docs, page, health] = await Promise.all([get('/docs-json'), get('/docs'), get('/'), get('/health')]);
await app.close();
console.log(
  JSON.stringify({
    openApiAvailable: await loadOpenApi(),
    document: docsJson.status === 200 ? JSON.parse(docsJson.text) : docsJson,
    docs: {
      status: docs.status,
      contentType: docs.headers['content-type'],
      csp: docs.headers['content-security-policy'] ?? null,
      swaggerUi: docs.text.includes('swagger-ui'),
    },
    page: { status: page.status, csp: page.headers['content-security-policy'] ?? null },
    health: { status: health.status, body: JSON.parse(health.text) },
  }),
);
