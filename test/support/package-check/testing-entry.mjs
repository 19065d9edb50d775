// An ES module app's tests import nestjs-redis-session/testing from the installed package
// (test/packaging.e2e-spec.ts). Prints one JSON line: where it resolved, what it exports, and
// a session built by sessionForTest (no Redis).
import 'reflect-metadata';

const testing = await import('nestjs-redis-session/testing');
const session = testing.sessionForTest({ id: 1, username: 'alice', role: 'admin', passwordHash: 'x' });
console.log(
  JSON.stringify({
    resolved: import.meta.resolve('nestjs-redis-session/testing'),
    exports: Object.fromEntries(
      Object.keys(testing)
        .sort()
        .map((name) => [name, typeof testing[name]]),
    ),
    session: { userId: session.userId, role: session.role, data: session.data ?? null },
  }),
);
