import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { KEY_LAYOUT } from '../src/core/keys.js';
import { testRedisUrl, uniquePrefix } from './support/redis.js';
import { createServiceHarness, type ServiceHarness } from './support/service.js';

/*
 * The operator CLI (`nestjs-redis-session`), run as a process against the suite's Redis.
 * It runs the built dist/cli/main.js when that is newer than every build input (as in
 * CI, which builds before testing). Otherwise src/ is transpiled with swc (Jest's
 * settings) into node_modules/.cache: a `nest build` here would delete dist/ under the
 * packaging suite, which rebuilds it too, and take 20 s.
 */

// Each CLI run is a Node process that loads Nest (about a second, several on a loaded machine).
jest.setTimeout(90_000);

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = join(ROOT, 'dist', 'cli', 'main.js');

function newestInput(): number {
  let newest = 0;
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else if (!path.endsWith('.spec.ts')) newest = Math.max(newest, stat.mtimeMs);
  };
  visit(join(ROOT, 'src'));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json']) visit(join(ROOT, file));
  return newest;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** src/ compiled into `out` (imports resolve from the repo's node_modules, since `out` lies inside it). */
function transpile(out: string): void {
  const { transformFileSync } = createRequire(import.meta.url)('@swc/core') as typeof import('@swc/core');
  const src = join(ROOT, 'src');
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        visit(path);
        continue;
      }
      const target = join(out, relative(src, path));
      mkdirSync(dirname(target), { recursive: true });
      if (path.endsWith('.lua')) copyFileSync(path, target);
      else if (path.endsWith('.ts') && !path.endsWith('.spec.ts')) {
        const { code } = transformFileSync(path, {
          swcrc: false,
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
          },
          module: { type: 'es6' },
        });
        writeFileSync(target.replace(/\.ts$/, '.js'), code);
      }
    }
  };
  visit(src);
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let cliPath = BUILT;
let privateBuild: string | undefined;

/**
 * Runs the CLI like an operator's shell would: its own process, no Jest NODE_OPTIONS.
 * REDIS_TIMEOUT_MS is raised from its 2 s default: four CLI processes loading Nest at once on
 * a busy two-core CI machine once took longer than that to send a command. The tests about
 * the timeout itself pass their own value (or undefined for the default).
 */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: testRedisUrl(), REDIS_TIMEOUT_MS: '10000', ...env };
  delete childEnv.NODE_OPTIONS;
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  const started = Date.now();
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { env: childEnv, timeout: 15_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

const json = <T>(run: CliRun): T => {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\nstderr: ${run.stderr}`);
  }
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface ListedSession {
  id: string;
  userId: string | number;
  username: string | null;
  role: string | null;
  createdAt: string;
  lastActivityAt: string;
  expiresAt: string;
  absoluteExpiresAt: string;
  ip: string | null;
  userAgent: string | null;
  data?: Record<string, unknown>;
}

beforeAll(() => {
  if (mtime(BUILT) < newestInput()) {
    privateBuild = join(ROOT, 'node_modules', '.cache', `nrs-cli-test-${process.pid}-${Date.now()}`);
    transpile(privateBuild);
    cliPath = join(privateBuild, 'cli', 'main.js');
  }
});

afterAll(() => {
  if (privateBuild) rmSync(privateBuild, { recursive: true, force: true });
});

describe('nestjs-redis-session CLI: sessions', () => {
  let h: ServiceHarness;
  const prefix = uniquePrefix('cli');
  const ids: { numeric: string[]; bob: string[] } = { numeric: [], bob: [] };

  beforeAll(async () => {
    h = await createServiceHarness({ keyPrefix: prefix });
    // Oldest first, a few ms apart so "newest first" has one answer.
    for (const [i, ip] of ['203.0.113.7', '198.51.100.2', '192.0.2.9'].entries()) {
      const { session } = await h.service.create(
        { id: 42, username: 'ann', role: 'admin', team: 'core' },
        { ip, userAgent: i === 1 ? 'curl/8.5.0 \u001b[31mRED\u001b[0m' : UA },
      );
      ids.numeric.push(session.id);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < 2; i++) ids.bob.push((await h.service.create({ id: 'u-bob', username: 'bob' })).session.id);
  });
  afterAll(() => h?.close());

  it('list --json prints what SessionService.list gives, newest first, for a numeric id typed as "42"', async () => {
    const run = await cli(['sessions', 'list', '42', '--prefix', prefix, '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const listed = json<ListedSession[]>(run);
    const expected = await h.service.list(42);
    expect(listed.map((s) => s.id)).toEqual([...ids.numeric].reverse());
    expect(listed.map((s) => s.id)).toEqual(expected.map((s) => s.id));
    for (const [i, s] of listed.entries()) {
      const e = expected[i];
      expect(s).toMatchObject({
        userId: 42, // the number the session was created with: 42 typed is the number id
        username: 'ann',
        role: 'admin',
        ip: e.ip,
        userAgent: e.userAgent,
        data: { team: 'core' },
        createdAt: e.createdAt.toISOString(),
        absoluteExpiresAt: e.absoluteExpiresAt.toISOString(),
      });
      // Derived from the TTL at the moment of each read: equal within the time between them.
      expect(Math.abs(Date.parse(s.expiresAt) - e.expiresAt.getTime())).toBeLessThan(10_000);
      expect(Math.abs(Date.parse(s.lastActivityAt) - e.lastActivityAt.getTime())).toBeLessThan(10_000);
    }
    // Control characters from a user agent are escaped in JSON, never raw on stdout.
    expect(run.stdout).not.toContain('\u001b');
  });

  it('list prints a table for people, with control characters from clients escaped', async () => {
    const [table, bob, nobody] = await Promise.all([
      cli(['sessions', 'list', '42', '--prefix', prefix]),
      cli(['sessions', 'list', 'u-bob', '--prefix', prefix]),
      cli(['sessions', 'list', 'nobody', '--prefix', prefix]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^3 live sessions of user 42 .*newest first:\nID +USERNAME +ROLE +IP +CREATED/);
    for (const id of ids.numeric) expect(table.stdout).toContain(id);
    expect(table.stdout).toContain('192.0.2.9');
    expect(table.stdout).not.toContain('\u001b');
    expect(table.stdout).toContain('\\u001b[31mRED');
    expect(bob.code).toBe(0);
    for (const id of ids.bob) expect(bob.stdout).toContain(id);
    expect(bob.stdout).not.toContain(ids.numeric[0]);
    expect(nobody).toMatchObject({ code: 0, stdout: `No live sessions for user nobody (prefix ${prefix}).\n` });
  });

  it("revoke removes exactly that session; an id that is not one of the user's is exit 1 and touches nothing", async () => {
    const target = ids.numeric[1];
    const ok = await cli(['sessions', 'revoke', '42', target, '--prefix', prefix]);
    expect(ok).toMatchObject({ code: 0, stdout: `Revoked session ${target} of user 42.\n` });
    expect((await h.service.list(42)).map((s) => s.id).sort()).toEqual([ids.numeric[0], ids.numeric[2]].sort());
    expect(await h.redis.exists(`${prefix}${target}`)).toBe(0);

    const [again, againJson, othersSession, malformed] = await Promise.all([
      cli(['sessions', 'revoke', '42', target, '--prefix', prefix]),
      cli(['sessions', 'revoke', '42', target, '--prefix', prefix, '--json']),
      cli(['sessions', 'revoke', '42', ids.bob[0], '--prefix', prefix]),
      cli(['sessions', 'revoke', '42', 'not-a-session-id', '--prefix', prefix]),
    ]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`Not found: ${target} is not one of user 42's live sessions`);
    expect(againJson.code).toBe(1);
    expect(json(againJson)).toEqual({ revoked: false, userId: 42, sessionId: target }); // the id as the CLI took it: the number
    expect(othersSession.code).toBe(1);
    expect(malformed.code).toBe(1);
    expect((await h.service.list('u-bob')).map((s) => s.id).sort()).toEqual([...ids.bob].sort());
    expect(await h.service.list(42)).toHaveLength(2);
  });

  it('revoke --json confirms the revocation', async () => {
    const run = await cli(['sessions', 'revoke', 'u-bob', ids.bob[1], '--prefix', prefix, '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toEqual({ revoked: true, userId: 'u-bob', sessionId: ids.bob[1] });
    expect((await h.service.list('u-bob')).map((s) => s.id)).toEqual([ids.bob[0]]);
  });

  it('revoke-all removes every session of the user and no other', async () => {
    const run = await cli(['sessions', 'revoke-all', '42', '--prefix', prefix, '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toEqual({ revoked: 2, userId: 42 });
    expect(await h.service.list(42)).toEqual([]);
    expect(await h.redis.exists(`${prefix}user:42`, ...ids.numeric.map((id) => `${prefix}${id}`))).toBe(0);
    expect((await h.service.list('u-bob')).map((s) => s.id)).toEqual([ids.bob[0]]);

    const human = await cli(['sessions', 'revoke-all', 'u-bob', '--prefix', prefix]);
    expect(human).toMatchObject({ code: 0, stdout: 'Revoked 1 session of user u-bob.\n' });
    const none = await cli(['sessions', 'revoke-all', 'u-bob', '--prefix', prefix]);
    expect(none).toMatchObject({ code: 0, stdout: 'Revoked 0 sessions of user u-bob.\n' });
  });
});

describe('nestjs-redis-session CLI: the number 5 and the string "5" are different users', () => {
  let h: ServiceHarness;
  const prefix = uniquePrefix('cli-ids');
  const ids: { number: string[]; string: string[] } = { number: [], string: [] };

  beforeAll(async () => {
    h = await createServiceHarness({ keyPrefix: prefix });
    for (let i = 0; i < 2; i++) {
      ids.number.push((await h.service.create({ id: 5, username: 'five' })).session.id);
      ids.string.push((await h.service.create({ id: '5', username: 'string-five' })).session.id);
    }
  });
  afterAll(() => h?.close());

  const sorted = (list: string[]) => [...list].sort();

  it('list 5 is the number id; list --string-id 5 is the string id; each sees only its own sessions', async () => {
    const [number, string, numberTable, stringTable] = await Promise.all([
      cli(['sessions', 'list', '5', '--prefix', prefix, '--json']),
      cli(['sessions', 'list', '--string-id', '5', '--prefix', prefix, '--json']),
      cli(['sessions', 'list', '5', '--prefix', prefix]),
      cli(['sessions', 'list', '5', '--prefix', prefix, '--string-id']),
    ]);
    expect(sorted(json<ListedSession[]>(number).map((s) => s.id))).toEqual(sorted(ids.number));
    expect(json<ListedSession[]>(number).every((s) => s.userId === 5)).toBe(true);
    expect(sorted(json<ListedSession[]>(string).map((s) => s.id))).toEqual(sorted(ids.string));
    expect(json<ListedSession[]>(string).every((s) => s.userId === '5')).toBe(true);
    expect(numberTable.stdout).toMatch(/^2 live sessions of user 5 /);
    expect(stringTable.stdout).toMatch(/^2 live sessions of user "5" /);
    for (const id of ids.string) expect(numberTable.stdout).not.toContain(id);
    for (const id of ids.number) expect(stringTable.stdout).not.toContain(id);
  });

  it("revoke of the other one's session is exit 1 and touches nothing; --string-id revokes the string id's own", async () => {
    const [crossed, crossedBack] = await Promise.all([
      cli(['sessions', 'revoke', '5', ids.string[0], '--prefix', prefix]),
      cli(['sessions', 'revoke', '--string-id', '5', ids.number[0], '--prefix', prefix, '--json']),
    ]);
    expect(crossed.code).toBe(1);
    expect(crossed.stderr).toContain(`Not found: ${ids.string[0]} is not one of user 5's live sessions`);
    expect(crossedBack.code).toBe(1);
    expect(json(crossedBack)).toEqual({ revoked: false, userId: '5', sessionId: ids.number[0] });
    expect(sorted((await h.service.list(5)).map((s) => s.id))).toEqual(sorted(ids.number));
    expect(sorted((await h.service.list('5')).map((s) => s.id))).toEqual(sorted(ids.string));

    const own = await cli(['sessions', 'revoke', '--string-id', '5', ids.string[1], '--prefix', prefix]);
    expect(own).toMatchObject({ code: 0, stdout: `Revoked session ${ids.string[1]} of user "5".\n` });
    expect((await h.service.list('5')).map((s) => s.id)).toEqual([ids.string[0]]);
    expect(await h.service.list(5)).toHaveLength(2);
  });

  it("revoke-all of one leaves the other's sessions alive", async () => {
    const strings = await cli(['sessions', 'revoke-all', '5', '--string-id', '--prefix', prefix, '--json']);
    expect(json(strings)).toEqual({ revoked: 1, userId: '5' });
    expect(await h.service.list('5')).toEqual([]);
    expect(sorted((await h.service.list(5)).map((s) => s.id))).toEqual(sorted(ids.number));
    expect(await h.redis.exists(`${prefix}user:"5"`)).toBe(0);
    expect(await h.redis.exists(`${prefix}user:5`)).toBe(1);

    const again = await h.service.create({ id: '5' });
    const numbers = await cli(['sessions', 'revoke-all', '5', '--prefix', prefix]);
    expect(numbers).toMatchObject({ code: 0, stdout: 'Revoked 2 sessions of user 5.\n' });
    expect((await h.service.list('5')).map((s) => s.id)).toEqual([again.session.id]);
    await h.service.revokeAll('5');
  });
});

describe('nestjs-redis-session CLI: a user with more sessions than one page', () => {
  let h: ServiceHarness;
  const prefix = uniquePrefix('cli-pages');
  let expected: string[];

  beforeAll(async () => {
    // No cap, so the user can hold more than a page (1,000) of sessions.
    h = await createServiceHarness({ keyPrefix: prefix, maxSessionsPerUser: null });
    const created = [];
    for (let i = 0; i < 5; i++) {
      created.push(...(await Promise.all(Array.from({ length: 250 }, () => h.service.create({ id: 'pager', username: 'pat' })))));
    }
    // Newest first: by absolute deadline, then id descending (byte order).
    expected = created
      .map(({ session }) => ({ id: session.id, deadline: session.absoluteExpiresAt.getTime() }))
      .sort((a, b) => b.deadline - a.deadline || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map((entry) => entry.id);
  }, 60_000);
  afterAll(() => h?.close());

  it('list pages through all of them (1,250 sessions, newest first, each once)', async () => {
    const [asJson, table] = await Promise.all([
      cli(['sessions', 'list', 'pager', '--prefix', prefix, '--json']),
      cli(['sessions', 'list', 'pager', '--prefix', prefix]),
    ]);
    expect(asJson).toMatchObject({ code: 0, stderr: '' });
    expect(json<ListedSession[]>(asJson).map((s) => s.id)).toEqual(expected);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^1250 live sessions of user pager /);
  });
});

describe('nestjs-redis-session CLI: stats', () => {
  let h: ServiceHarness;
  const prefix = uniquePrefix('cli-stats');

  interface StatsJson {
    prefix: string;
    sessions: number;
    users: number;
    throttleCounters: number;
    otherKeys: number;
    withoutTtl: { sessions: number; users: number; throttleCounters: number; otherKeys: number };
    memory: {
      sessionBytesAvg: number | null;
      userIndexBytesAvg: number | null;
      estimatedBytes: number | null;
      maxmemoryPolicy: string | null;
    };
    redisVersion: string | null;
  }

  beforeAll(async () => {
    h = await createServiceHarness({ keyPrefix: prefix });
    await h.service.create({ id: 7, username: 'gil' }, { userAgent: UA });
    await h.service.create({ id: 7, username: 'gil' }, { userAgent: UA });
    await h.service.create({ id: 'u-hal', username: 'hal' }, { userAgent: UA });
  });
  afterAll(() => h?.close());

  it('counts session keys, user indexes and keys without a TTL under the prefix', async () => {
    const clean = json<StatsJson>(await cli(['stats', '--prefix', prefix, '--json']));
    expect(clean).toMatchObject({
      prefix,
      sessions: 3,
      users: 2,
      throttleCounters: 0,
      otherKeys: 0,
      withoutTtl: { sessions: 0, users: 0, throttleCounters: 0, otherKeys: 0 },
    });
    expect(clean.memory.sessionBytesAvg).toBeGreaterThan(100);
    expect(clean.memory.userIndexBytesAvg).toBeGreaterThan(50);
    expect(clean.memory.estimatedBytes).toBeGreaterThan(300);
    expect(clean.redisVersion).toMatch(/^\d+\.\d+/);

    // A session-shaped key without a TTL (written by hand: the module never does) and a stranger.
    const planted = `${prefix}${'A'.repeat(22)}`;
    await h.redis.set(planted, '[1,"x",null,null,0,0,null,null]');
    await h.redis.set(`${prefix}something-else`, 'x', 'EX', 60);
    // A login throttle counter, as a failed login from this IP leaves it.
    await h.redis.set(`${prefix}throttle:ip:203.0.113.9`, '1', 'EX', 60);
    try {
      const [dirty, human] = await Promise.all([
        cli(['stats', '--prefix', prefix, '--json']),
        cli(['stats', '--prefix', prefix]),
      ]);
      expect(json<StatsJson>(dirty)).toMatchObject({
        sessions: 4,
        users: 2,
        throttleCounters: 1,
        otherKeys: 1,
        withoutTtl: { sessions: 1, users: 0, throttleCounters: 0, otherKeys: 0 },
      });
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^Key prefix +t:cli-stats:/m);
      expect(human.stdout).toMatch(/^Sessions +4$/m);
      expect(human.stdout).toMatch(/^Users +2 /m);
      expect(human.stdout).toMatch(/^Without TTL +1 .*should be 0/m);
      // The key layout block is core/keys.ts's KEY_LAYOUT, each row with its count.
      const counts = { session: 4, 'user-index': 2, 'throttle-ip': 1, 'throttle-user': 0 };
      for (const kind of KEY_LAYOUT) {
        const escaped = kind.pattern.replace(/[<>]/g, (c) => `\\${c}`);
        expect(human.stdout).toMatch(new RegExp(`^  ${escaped} +${kind.type} +${counts[kind.kind]}$`, 'm'));
      }
      expect(json<StatsJson & { layout: unknown }>(dirty).layout).toEqual(
        KEY_LAYOUT.map(({ kind, pattern, type }) => ({ kind, pattern, type, keys: counts[kind] })),
      );
    } finally {
      await h.redis.del(planted, `${prefix}something-else`, `${prefix}throttle:ip:203.0.113.9`);
    }
  });
});

describe('nestjs-redis-session CLI: usage and failures', () => {
  it('answers a usage error with exit 2 and the usage text', async () => {
    const cases = [
      [],
      ['bogus'],
      ['sessions'],
      ['sessions', 'list'],
      ['sessions', 'revoke', '42'],
      ['sessions', 'list', '1', '2'],
      ['stats', 'extra'],
      ['stats', '--nope'],
      ['stats', '--prefix'],
      ['stats', '--prefix', 'has space'],
      ['stats', '--ttl', '0'],
      ['stats', '--string-id'],
    ];
    const runs = await Promise.all(cases.map((args) => cli(args)));
    for (const [i, run] of runs.entries()) {
      expect({ args: cases[i], code: run.code, stdout: run.stdout }).toEqual({ args: cases[i], code: 2, stdout: '' });
      expect(run.stderr).toMatch(/^nestjs-redis-session: .+\n[\s\S]*Usage: nestjs-redis-session <command>/);
    }
    const noUrl = await cli(['stats'], { REDIS_URL: undefined });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('REDIS_URL is not set');
    for (const bad of ['abc', '0', '1.5', '600001']) {
      const badTimeout = await cli(['stats'], { REDIS_TIMEOUT_MS: bad });
      expect({ bad, code: badTimeout.code }).toEqual({ bad, code: 2 });
      expect(badTimeout.stderr).toContain('REDIS_TIMEOUT_MS must be a whole number of milliseconds');
    }
  });

  it('exits 3 after REDIS_TIMEOUT_MS when a server accepts the connection but never answers', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolvePromise) => silent.listen(0, '127.0.0.1', resolvePromise));
    try {
      const port = (silent.address() as { port: number }).port;
      const run = await cli(['stats'], { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_TIMEOUT_MS: '700' });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('no answer within 700 ms');
      expect(run.ms).toBeGreaterThanOrEqual(700);
    } finally {
      silent.close();
    }
  });

  it('--help prints the usage on stdout with exit 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('sessions revoke <userId> <sessionId>');
    expect(run.stdout).toContain('--string-id');
    expect(run.stdout).not.toContain('finds sessions created with the id 42 or "42"');
    expect(run.stdout).toContain('SCAN');
  });

  it('exits 3 within about 2 s when Redis is unreachable, without printing the password', async () => {
    const port = await freePort();
    const run = await cli(['sessions', 'list', '42', '--json'], {
      REDIS_URL: `redis://:s3cret-pw@127.0.0.1:${port}`,
      REDIS_TIMEOUT_MS: undefined,
    });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`Redis unreachable at redis://:***@127.0.0.1:${port}`);
    expect(run.stderr).not.toContain('s3cret-pw');
    expect(run.ms).toBeLessThan(3000);
  });

  it('ships as the package bin', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string>; files: string[] };
    expect(pkg.bin).toEqual({ 'nestjs-redis-session': './dist/cli/main.js' });
    expect(pkg.files).toContain('dist');
    expect(pkg.files.filter((pattern) => pattern.startsWith('!') && /cli/.test(pattern))).toEqual([]);
    expect(readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
