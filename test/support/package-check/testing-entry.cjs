// A CommonJS app's e2e test require()s nestjs-redis-session/testing (require(esm)) from the
// installed package (test/packaging.e2e-spec.ts): signInForTest finds the SessionModule the app
// loaded from the main entry (one copy of each class, not two), and its cookie and bearer
// header pass the real guard on a real Redis. Prints one JSON line.
'use strict';
require('reflect-metadata');
const { randomBytes } = require('node:crypto');
const { Controller, Get, Module, UseGuards } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { CurrentSession, SessionGuard, SessionModule } = require('nestjs-redis-session');
const testing = require('nestjs-redis-session/testing');

class ProfileController {
  me(userId) {
    return { userId };
  }
}
const proto = ProfileController.prototype;
Object.defineProperty(
  proto,
  'me',
  Reflect.decorate([UseGuards(SessionGuard), Get('me')], proto, 'me', Object.getOwnPropertyDescriptor(proto, 'me')),
);
CurrentSession('userId')(proto, 'me', 0);
Reflect.decorate([Controller()], ProfileController);

class AppModule {}
Reflect.decorate(
  [
    Module({
      imports: [
        SessionModule.forRoot({
          redis: { url: process.env.REDIS_URL },
          keyPrefix: `fixture:testing:${randomBytes(4).toString('hex')}:`,
          transport: 'both',
        }),
      ],
      controllers: [ProfileController],
    }),
  ],
  AppModule,
);

async function main() {
  const result = {
    resolved: require.resolve('nestjs-redis-session/testing'),
    exports: Object.fromEntries(
      Object.keys(testing)
        .sort()
        .map((name) => [name, typeof testing[name]]),
    ),
  };
  const app = await NestFactory.create(AppModule, { logger: ['error'] });
  try {
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    const signed = await testing.signInForTest(app, { id: 7, username: 'dana' });
    const status = async (headers) => (await fetch(`${base}/me`, { headers })).status;
    result.cookie = await status({ cookie: signed.cookie });
    result.bearer = await status({ authorization: signed.authorization });
    result.signedOut = await testing.signOutForTest(app, signed);
    result.afterSignOut = await status({ cookie: signed.cookie });
  } finally {
    await app.close();
  }
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
