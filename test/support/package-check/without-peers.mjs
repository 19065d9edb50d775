// An app whose node_modules lack @nestjs/swagger and @nestjs/terminus imports the package
// (ESM), checks that the OpenAPI decorators did nothing, that /health is the only entry
// point that needs terminus, and serves a login. Prints one JSON line with what it saw.
import 'reflect-metadata';
import { createRequire } from 'node:module';

const result = {};
const api = await import('nestjs-redis-session');
result.exports = ['SessionModule', 'SessionService', 'SessionGuard', 'AuthController', 'LoginDto'].filter(
  (name) => typeof api[name] === 'function',
);
const openapi = await import(new URL('./node_modules/nestjs-redis-session/dist/auth/openapi/decorators.js', import.meta.url));
const swaggerKeys = (target, key) =>
  (key === undefined ? Reflect.getMetadataKeys(target) : Reflect.getMetadataKeys(target, key)).filter((k) =>
    String(k).startsWith('swagger/'),
  );
const swaggerMetadata = () => [
  ...swaggerKeys(api.AuthController),
  ...swaggerKeys(api.AuthController.prototype.login),
  ...swaggerKeys(api.LoginDto.prototype),
  ...swaggerKeys(api.LoginDto.prototype, 'username'),
];
for (const name of ['@nestjs/swagger', '@nestjs/terminus']) {
  try {
    createRequire(import.meta.url).resolve(name);
    result[name] = 'resolvable';
  } catch {
    result[name] = 'missing';
  }
}
try {
  await import('nestjs-redis-session/health');
  result.health = 'loaded';
} catch (err) {
  result.health = `${err.code}: ${err.message.split('\n')[0]}`;
}

// A real app: login and the current session through the /auth routes.
const { Module } = await import('@nestjs/common');
const { NestFactory } = await import('@nestjs/core');
class AppModule {}
Module({
  imports: [
    api.SessionModule.forRoot({
      redis: { url: process.env.NRS_REDIS_URL },
      keyPrefix: process.env.NRS_KEY_PREFIX,
      cookie: { secure: false },
      validateCredentials: async ({ username, password }) =>
        username === 'alice' && password === 'alice-password' ? { id: 1, username: 'alice' } : null,
    }),
  ],
})(AppModule);
const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
const login = await fetch(`${base}/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
});
const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
const current = await fetch(`${base}/auth/session`, { headers: { cookie } });
const logout = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie } });
result.routes = {
  login: login.status,
  session: current.status,
  username: (await current.json()).username,
  logout: logout.status,
};
await app.close();
// SessionModule looked for @nestjs/swagger while the app was created.
result.openApiAvailable = await openapi.loadOpenApi();
result.swaggerMetadata = swaggerMetadata();
console.log(JSON.stringify(result));
