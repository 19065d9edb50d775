import { describe, expect, it } from '@jest/globals';
import { SessionOptionsError } from './error.js';

describe('SessionOptionsError', () => {
  it('lists every problem in its message', () => {
    const error = new SessionOptionsError(['`ttl` is bad.', '`redis` is required.']);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SessionOptionsError');
    expect(error.problems).toEqual(['`ttl` is bad.', '`redis` is required.']);
    expect(error.message).toContain('`ttl` is bad.');
    expect(error.message).toContain('`redis` is required.');
  });
});
