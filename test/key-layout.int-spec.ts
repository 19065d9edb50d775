import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { KEY_LAYOUT, kindOfKey } from '../src/core/keys.js';
import { SessionService } from '../src/index.js';
import { createTestApp, type TestApp } from './support/app.js';
import { sessionCookie, tokenOf } from './support/http.js';
import { sleep } from './support/redis.js';

/*
 * The README's "Redis key layout" section is what an operator relies on with redis-cli:
 * these tests hold it to what the module really writes, and run its documented
 * redis-cli commands (with the test's own prefix) against a real login. The details it
 * leaves to docs/redis-key-layout.md (the upgrade note) are held there.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const GUIDE = readFileSync(join(ROOT, 'docs', 'redis-key-layout.md'), 'utf8');

/** The text from `heading` to the next heading of the same level (`## `), in `doc`. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

function keyLayoutSection(): string {
  return section(README, '## Redis key layout');
}

/** The table row whose first cell is `pattern`, as its cells. */
function row(section: string, pattern: string): string[] {
  const line = section.split('\n').find((l) => l.startsWith(`| \`${pattern}\` |`));
  if (!line) throw new Error(`README "Redis key layout" has no table row for \`${pattern}\``);
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

/** The documented field names of the session value, e.g. ['1', 'userId', ..., 'data?']. */
function documentedFields(section: string): string[] {
  const content = row(section, 'session:<id>')[2];
  const match = /`\[([^\]`]+)\]`/.exec(content);
  if (!match) throw new Error(`no [field, ...] list in the session:<id> row: ${content}`);
  return match[1].split(',').map((name) => name.trim());
}

/** The `$ redis-cli ...` commands of the section's console blocks, as argument lists (a 'quoted' argument unquoted, as a shell would). */
function redisCliCommands(section: string): string[][] {
  return [...section.matchAll(/^\$ redis-cli (?!--)(.+)$/gm)].map((m) =>
    (m[1].trim().match(/'[^']*'|\S+/g) ?? []).map((arg) => (arg.startsWith("'") ? arg.slice(1, -1) : arg)),
  );
}

/** Each user id of the README's index key table, as `SessionService.create` takes it, and the key the README gives it. */
const DOCUMENTED_INDEX_KEYS: Array<[string | number, string]> = [
  [1, 'session:user:1'],
  [-7, 'session:user:-7'],
  ['1', 'session:user:"1"'],
  ['007', 'session:user:"007"'],
  ['u-bob', 'session:user:u-bob'],
];

const UA = 'Mozilla/5.0 (X11; Linux x86_64) key-layout-test';
const TTL = 60;
const ABSOLUTE_TTL = 600;

describe('README "Redis key layout"', () => {
  it("documents both key patterns, their types, the session value's field order and the redis-cli commands to inspect them", () => {
    const section = keyLayoutSection();
    expect(row(section, 'session:<id>')[1]).toBe('STRING');
    expect(row(section, 'session:user:<userId>')[1]).toBe('ZSET');
    expect(row(section, 'session:user:<userId>')[2]).toMatch(/member = session id, score = its absolute deadline \(epoch ms\)/);
    expect(documentedFields(section)).toEqual([
      '1',
      'userId',
      'username',
      'role',
      'createdAtMs',
      'absoluteExpiresAtMs',
      'ip',
      'userAgent',
      'data?',
      'own?',
    ]);
    const commands = redisCliCommands(section).map((args) => `${args[0]} ${args[1]}`);
    for (const expected of ['ZRANGE session:user:', 'GET session:', 'TTL session:']) {
      expect(commands.some((command) => command.startsWith(expected))).toBe(true);
    }
  });

  it('documents how <userId> keeps the id\'s type in the index key (1, "1", "u-bob"), and what moved on upgrade (in the guide)', () => {
    const layout = keyLayoutSection();
    for (const [, key] of DOCUMENTED_INDEX_KEYS) expect(layout).toContain(`\`${key}\``);
    expect(section(GUIDE, '## Upgrading: index keys of string ids')).toMatch(
      /a string id that looks like an integer moved from `session:user:1` .* to `session:user:"1"`/s,
    );
    expect(redisCliCommands(layout).some((args) => args[0] === 'ZRANGE' && args[1] === 'session:user:"1"')).toBe(true);
  });
});

describe('core/keys.ts is the layout the README documents', () => {
  it('the README table has exactly one row per KEY_LAYOUT entry (default prefix), with its type', () => {
    const section = keyLayoutSection();
    const rows = section.split('\n').filter((line) => /^\| `session:[^`]*` \|/.test(line));
    const documented = rows.map((line) => line.split('|')[1].trim());
    expect(documented).toEqual(KEY_LAYOUT.map((kind) => `\`${kind.pattern.replace('<prefix>', 'session:')}\``));
    for (const kind of KEY_LAYOUT) expect(row(section, kind.pattern.replace('<prefix>', 'session:'))[1]).toBe(kind.type);
  });
});

describe('what the module writes matches the README', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ ttl: TTL, absoluteTtl: ABSOLUTE_TTL });
  });
  afterAll(() => t.close());

  const login = (username: string) =>
    request(t.app.getHttpServer())
      .post('/auth/login')
      .set('User-Agent', UA)
      .send({ username, password: `${username}-password` });

  it("every key a login, a failed login and a list leave is one of KEY_LAYOUT's kinds, with the documented type", async () => {
    expect((await login('alice')).status).toBe(200);
    const wrong = await request(t.app.getHttpServer()).post('/auth/login').send({ username: 'Nobody', password: 'wrong' });
    expect(wrong.status).toBe(401);
    const keys = await t.redis.keys(`${t.prefix}*`);
    const kinds = keys.map((key) => kindOfKey(t.prefix, key));
    expect(kinds).not.toContain(null);
    // A failed login writes both throttle counters (the IP's and the username's).
    expect(new Set(kinds)).toEqual(new Set(['session', 'user-index', 'throttle-ip', 'throttle-user']));
    for (const key of keys) {
      const kind = KEY_LAYOUT.find((row) => row.kind === kindOfKey(t.prefix, key))!;
      expect(await t.redis.type(key)).toBe(kind.type.toLowerCase());
      expect(await t.redis.pttl(key)).toBeGreaterThan(0);
    }
  });

  it('session key: a STRING holding the documented JSON array, with the idle TTL; its id is the first 22 base64url characters of SHA-256(token)', async () => {
    const section = keyLayoutSection();
    const fields = documentedFields(section);
    for (const [username, userId, role, data] of [
      ['alice', 1, 'admin', { team: 'core' }],
      ['bob', 'u-bob', 'user', undefined],
    ] as const) {
      const res = await login(username);
      expect(res.status).toBe(200);
      const { session } = res.body;
      expect(session.id).toBe(
        createHash('sha256')
          .update(tokenOf(sessionCookie(res)))
          .digest('base64url')
          .slice(0, 22),
      );
      const key = `${t.prefix}${session.id}`;
      expect(await t.redis.type(key)).toBe('string');
      const byName: Record<string, unknown> = {
        1: 1,
        userId,
        username,
        role,
        createdAtMs: Date.parse(session.createdAt),
        absoluteExpiresAtMs: Date.parse(session.absoluteExpiresAt),
        ip: session.ip,
        userAgent: UA,
        'data?': data,
        'own?': undefined,
      };
      // `data?` is there only for a user with custom data; `own?` only for a remember-me login.
      const expected = fields.filter((name) => byName[name] !== undefined).map((name) => byName[name]);
      expect(JSON.parse((await t.redis.get(key))!)).toEqual(expected);
      expect(Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt)).toBe(ABSOLUTE_TTL * 1000);
      const pttl = await t.redis.pttl(key);
      expect(pttl).toBeGreaterThan((TTL - 2) * 1000);
      expect(pttl).toBeLessThanOrEqual(TTL * 1000);
    }
  });

  it('user index: a ZSET of session ids scored by their absolute deadline (ms), living until the latest of them', async () => {
    const first = (await login('alice')).body.session;
    await sleep(150); // deadlines far enough apart to tell which one the index's TTL follows
    const second = (await login('alice')).body.session;
    const index = `${t.prefix}user:1`;
    expect(await t.redis.type(index)).toBe('zset');
    expect(await t.redis.zscore(index, first.id)).toBe(String(Date.parse(first.absoluteExpiresAt)));
    expect(await t.redis.zscore(index, second.id)).toBe(String(Date.parse(second.absoluteExpiresAt)));
    const latest = Math.max(Date.parse(first.absoluteExpiresAt), Date.parse(second.absoluteExpiresAt));
    const before = Date.now();
    const pttl = await t.redis.pttl(index);
    const expireTime = before + pttl;
    expect(Math.abs(expireTime - latest)).toBeLessThan(40);
  });

  it("the README's redis-cli commands, run with this test's prefix, show the user's sessions, a session and its TTL; its revoke-by-hand commands end the session", async () => {
    const section = keyLayoutSection();
    const res = await login('alice');
    const { session } = res.body;
    const exampleId = /GET session:([A-Za-z0-9_-]{22})\b/.exec(section)?.[1];
    expect(exampleId).toBeDefined();
    const run = (args: string[]) =>
      t.redis.call(args[0], ...args.slice(1).map((arg) => arg.replace(/^session:/, t.prefix).replace(exampleId!, session.id)));
    const commands = redisCliCommands(section);
    const [zrange] = commands.filter((args) => args[0] === 'ZRANGE');
    const [get] = commands.filter((args) => args[0] === 'GET');
    const [ttl] = commands.filter((args) => args[0] === 'TTL');
    expect(zrange[1]).toBe('session:user:1'); // the README's example user is id 1, as alice is here
    const listed = ((await run(zrange)) as unknown[]).flat().map(String); // [id, score, ...] (RESP3 nests the pairs)
    expect(listed).toContain(session.id);
    expect(listed[listed.indexOf(session.id) + 1]).toBe(String(Date.parse(session.absoluteExpiresAt)));
    expect(JSON.parse((await run(get)) as string)).toEqual([
      1,
      1,
      'alice',
      'admin',
      Date.parse(session.createdAt),
      Date.parse(session.absoluteExpiresAt),
      session.ip,
      UA,
      { team: 'core' },
    ]);
    const seconds = Number(await run(ttl));
    expect(seconds).toBeGreaterThan(TTL - 3);
    expect(seconds).toBeLessThanOrEqual(TTL);

    const cookie = sessionCookie(res);
    const server = t.app.getHttpServer();
    expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(200);
    const byHand = commands.filter((args) => args[0] === 'DEL' || args[0] === 'ZREM');
    expect(byHand.map((args) => args[0])).toEqual(['DEL', 'ZREM']);
    for (const args of byHand) expect(Number(await run(args))).toBe(1);
    expect((await request(server).get('/me').set('Cookie', cookie)).status).toBe(401);
    expect(await t.redis.zscore(`${t.prefix}user:1`, session.id)).toBeNull();
  });

  it('user index keys are the README\'s for each kind of id; its redis-cli ZRANGE for the string id "1" lists that user\'s sessions and not those of the number 1', async () => {
    const service = t.app.get(SessionService);
    const ofKey = (key: string) => key.replace(/^session:/, t.prefix);
    const created = await Promise.all(DOCUMENTED_INDEX_KEYS.map(([id]) => service.create({ id })));
    for (const [i, [id, key]] of DOCUMENTED_INDEX_KEYS.entries()) {
      expect({ id, key, indexed: await t.redis.zscore(ofKey(key), created[i].session.id) }).toEqual({
        id,
        key,
        indexed: String(created[i].session.absoluteExpiresAt.getTime()),
      });
    }
    const alice = (await login('alice')).body.session; // the number 1
    const [, zrangeOfString] = redisCliCommands(keyLayoutSection()).filter((args) => args[0] === 'ZRANGE');
    expect(zrangeOfString[1]).toBe('session:user:"1"');
    const listed = ((await t.redis.call(zrangeOfString[0], ...zrangeOfString.slice(1).map((arg) => ofKey(arg)))) as unknown[])
      .flat()
      .map(String);
    expect(listed).toEqual([created[2].session.id, String(created[2].session.absoluteExpiresAt.getTime())]);
    expect(listed).not.toContain(alice.id);
    for (const { token } of created) await service.destroy(token);
  });
});
