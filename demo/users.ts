import { randomBytes } from 'node:crypto';
import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import type { SessionCredentials, SessionUser } from '../src/index.js';

/** A demo account as configured, with its password in clear (it is printed at boot). */
export interface DemoAccount {
  id: number;
  username: string;
  role: string;
  password: string;
}

/** What a successful login hands to the session module: never the password or its hash. */
export interface DemoSessionUser extends SessionUser {
  id: number;
  username: string;
  role: string;
}

interface StoredUser extends DemoSessionUser {
  passwordHash: string;
}

// `Algorithm` is an ambient const enum, which `isolatedModules` cannot read (and the
// package exports no runtime object for it), hence the literal: 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

/** OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane): fast enough for a demo, not a toy. */
const HASH_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * Fresh random passwords on every boot, so the demo never ships credentials that work
 * against someone else's running copy.
 */
export function demoAccounts(): DemoAccount[] {
  return [
    { id: 1, username: 'alice', role: 'admin', password: randomPassword() },
    { id: 2, username: 'bob', role: 'user', password: randomPassword() },
  ];
}

function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** The demo's user store: argon2id hashes only, computed at boot. */
export class DemoUsers {
  private constructor(
    private readonly users: ReadonlyMap<string, StoredUser>,
    private readonly dummyHash: string,
  ) {}

  static async create(accounts: readonly DemoAccount[]): Promise<DemoUsers> {
    const [dummyHash, ...hashes] = await Promise.all([
      // Verified instead of a real hash when the username is unknown (see validateCredentials).
      hash(randomBytes(32).toString('base64url'), HASH_OPTIONS),
      ...accounts.map((account) => hash(account.password, HASH_OPTIONS)),
    ]);
    // A Map rather than an object: a username like `__proto__` or `constructor` is just unknown.
    const users = new Map<string, StoredUser>();
    accounts.forEach(({ id, username, role }, i) => users.set(username, { id, username, role, passwordHash: hashes[i] }));
    return new DemoUsers(users, dummyHash);
  }

  /**
   * The `validateCredentials` hook of `SessionModule`. An unknown username still costs
   * one argon2 verification (against a hash of a random password nobody knows), so the
   * response time does not tell which usernames exist.
   */
  readonly validateCredentials = async (credentials: SessionCredentials): Promise<DemoSessionUser | null> => {
    const user = this.users.get(credentials.username);
    const matches = await verify(user?.passwordHash ?? this.dummyHash, credentials.password);
    if (!user || !matches) return null;
    return { id: user.id, username: user.username, role: user.role };
  };
}
