// nestjs-redis-session/testing: helpers for the app's own tests. A separate entry point, so
// that nothing of it loads in production code.
//   signInForTest / signOutForTest: a real session in the app's Redis (e2e tests);
//   sessionGuardForTest / sessionForTest: no Redis at all (unit tests, the guard overridden).
export { signInForTest, signOutForTest, type SessionTestApp, type TestSignIn, type TestSignInOptions } from './sign-in.js';
export { sessionForTest, sessionGuardForTest } from './guard-stub.js';
