import { CurrentSession } from '../../src/index.js';

// docs/testing.md: "Testing your app" (why no req.user). test/testing-helper.e2e-spec.ts uses it.
/** `@UserId() userId: string | number`: in REST handlers, resolvers and gateways alike. */
export const UserId = () => CurrentSession('userId');
