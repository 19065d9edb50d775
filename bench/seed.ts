/** The seed's session fields, the same for every contender. */
export const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.84 Safari/537.36'; // 104 bytes, a real Chrome UA

export function seedUser(i: number) {
  return { id: 100_000 + i, username: `user${i}`, role: i % 10 === 0 ? 'admin' : 'user' };
}

export function seedIp(i: number): string {
  return `203.0.113.${i % 250}`;
}

export const EXPRESS_SESSION_SECRET = 'bench-secret-not-for-production';
export const TTL_SECONDS = 1800;

/** The password of the bench's one login user (argon2id-hashed at boot). */
export const LOGIN_PASSWORD = 'bench-password-1';

/** The password of the revocation window's users (checked by a string comparison: no hash). */
export const REVOCATION_PASSWORD = 'revocation-bench-password';
