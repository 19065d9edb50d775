import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { SessionCounters } from '../src/core/counters.js';
import { SessionEventSink } from '../src/core/events.js';
import { forwardKey } from '../src/core/keys.js';
import { SessionLive } from '../src/core/live.js';
import { maskId } from '../src/core/rotation-marker.js';
import { SessionStore } from '../src/core/store.js';
import { generateToken, sessionIdOf } from '../src/core/token.js';
import { dumpPrefix, keysWithPrefix } from './support/redis.js';
import {
  demotionVsRotate,
  destroyVsRotate,
  endAfterRotate,
  listDuringRotations,
  revokeVsRotate,
  rotatingLoopVsRevoke,
  updateVsRotate,
  type RaceContext,
} from './support/rotate-races.js';
import { createServiceHarness, type ServiceHarness } from './support/service.js';

/*
 * Changes and ends racing SessionService.rotate (issue 19 item 3), 200 rounds each on a real
 * Redis: a demotion, an update by the old token, a revocation by id and a logout never lose to
 * a rotation (the rotated session has the change, or it ends), a session that keeps rotating
 * can be revoked by the id a list showed, and a list taken while sessions rotate shows each
 * exactly once; a logout by the old token that reaches Redis once the rotation has committed
 * (it raced the rotate's answer) ends the rotated session. test/topology/rotate-races.topology-spec.ts runs the same on a Cluster.
 */

const ROUNDS = 200;
const report = (line: string) => process.stdout.write(`${line}\n`);

describe('changes and ends racing rotate', () => {
  let h: ServiceHarness;
  let ctx: RaceContext;
  beforeAll(async () => {
    // The races are about what lands, not about deadlines: a CI machine busy with other suites
    // once stalled this worker past the default 1 s (a 503 mid-race), so the deadline is looser
    // (3 s: the crash tests below date a rotation 10 s back, past twice the write deadline).
    h = await createServiceHarness({ ttl: 600, absoluteTtl: 3600, redisTimeoutMs: 3000 });
    ctx = {
      service: h.service,
      redis: h.redis,
      prefix: h.prefix,
      user: (name) => `rr-${name}`,
      // By name only: a key whose content holds one of the ids is a marker (named by the old id,
      // which is in `ids`), an index (nothingLeft counts it) or a forward (masked: no id in the
      // clear). Reading every key's content each round made the suite quadratic (15 s a test).
      async mentions(ids) {
        const keys = await keysWithPrefix(h.redis, h.prefix);
        return keys.filter((key) => ids.some((id) => key.includes(id)));
      },
    };
  });
  afterAll(async () => {
    // Markers and forwards expire; every key left has a TTL (-1: none; -2 is a forward that
    // expired between the scan and its PTTL).
    const dump = await dumpPrefix(h.redis, h.prefix);
    await h.close();
    expect(dump.filter((entry) => entry.pttl === -1).map((entry) => entry.key)).toEqual([]);
  });

  it(`updateUser demoting a user racing rotate: the rotated session has the new role and is counted (${ROUNDS} rounds)`, async () => {
    report(`rotate race, demotion: ${await demotionVsRotate(ctx, ROUNDS)}`);
  });

  it(`update(oldToken) racing rotate in the same tick: the change lands on the rotated session, once (${ROUNDS} rounds)`, async () => {
    report(`rotate race, update: ${await updateVsRotate(ctx, ROUNDS)}`);
  });

  it(`revoke(userId, id) racing rotate: the session ends, gone under both ids and from the list (${ROUNDS} rounds)`, async () => {
    report(`rotate race, revoke: ${await revokeVsRotate(ctx, ROUNDS)}`);
  });

  it(`destroy(oldToken) racing rotate in the same tick: the session ends and the rotation loses (${ROUNDS} rounds)`, async () => {
    report(`rotate race, logout: ${await destroyVsRotate(ctx, ROUNDS)}`);
  });

  it(`destroy(oldToken) or revokeToken(oldToken) once rotate() resolved: the rotated session ends (${ROUNDS} rounds)`, async () => {
    report(`rotate race, end after the commit: ${await endAfterRotate(ctx, ROUNDS)}`);
  });

  // The forward lives FORWARD_TTL_MS (10 s, a constant, no option shortens it): that a logout
  // by the old token ends nothing once it has expired is not waited for here.
  describe('a logout by the old token once rotate() resolved (it raced the answer)', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    /** What the service reports while `work` runs: events, counters, live announcements. */
    async function reported(work: () => Promise<unknown>) {
      const events: Array<[string, unknown]> = [];
      const counted: Array<[string, number | undefined]> = [];
      const announced: string[][] = [];
      jest.spyOn(h.app.get(SessionEventSink), 'emit').mockImplementation((name, payload) => void events.push([name, payload]));
      jest.spyOn(h.app.get(SessionCounters), 'revoked').mockImplementation((reason, count) => void counted.push([reason, count]));
      jest.spyOn(h.app.get(SessionLive), 'announce').mockImplementation((ids) => void announced.push([...ids]));
      const result = await work();
      jest.restoreAllMocks();
      return { result, events, counted, announced };
    }

    async function nothingOf(user: string, ids: string[]): Promise<void> {
      for (const id of ids) expect({ id, exists: await h.redis.exists(`${h.prefix}${id}`) }).toEqual({ id, exists: 0 });
      expect(await h.redis.zcard(`${h.prefix}user:${user}`)).toBe(0);
      expect(await h.service.list(user)).toEqual([]);
    }

    it('destroy(t) after rotate(t) resolved returns true, ends the new token, and reports the new id', async () => {
      const { token, session } = await h.service.create({ id: 'rr-after-1' });
      const rotated = (await h.service.rotate(token))!;
      expect(rotated).not.toBeNull();
      const { result, events, counted, announced } = await reported(() => h.service.destroy(token));
      expect(result).toBe(true);
      expect(await h.service.get(rotated.token)).toBeNull();
      expect(await h.service.touch(rotated.token)).toBeNull();
      expect(events).toEqual([['session.destroyed', { sessionId: rotated.session.id, userId: 'rr-after-1' }]]);
      expect(counted).toEqual([['logout', undefined]]);
      expect(announced.flat()).toContain(rotated.session.id);
      await nothingOf('rr-after-1', [session.id, rotated.session.id]);
      // Once ended, the forward leads to nothing: a second logout ends nothing and reports nothing.
      const again = await reported(() => h.service.destroy(token));
      expect(again).toEqual({ result: false, events: [], counted: [], announced: [] });
    });

    it('revokeToken(t, reason) after rotate(t) resolved ends the new token with session.revoked for the new id', async () => {
      const { token, session } = await h.service.create({ id: 'rr-after-2' });
      const rotated = (await h.service.rotate(token))!;
      const { result, events, counted } = await reported(() => h.service.revokeToken(token, 'binding'));
      expect(result).toBe(true);
      expect(await h.service.get(rotated.token)).toBeNull();
      expect(events).toEqual([['session.revoked', { sessionId: rotated.session.id, userId: 'rr-after-2', reason: 'binding' }]]);
      expect(counted).toEqual([['binding', 1]]);
      await nothingOf('rr-after-2', [session.id, rotated.session.id]);
    });

    it('a session that rotated twice: the first token ends the latest one, and the one between too', async () => {
      const { token, session } = await h.service.create({ id: 'rr-after-3' });
      const first = (await h.service.rotate(token))!;
      const second = (await h.service.rotate(first.token))!;
      const { result, events } = await reported(() => h.service.destroy(token));
      expect(result).toBe(true);
      expect(events).toEqual([['session.destroyed', { sessionId: second.session.id, userId: 'rr-after-3' }]]);
      expect(await h.service.get(second.token)).toBeNull();
      await nothingOf('rr-after-3', [session.id, first.session.id, second.session.id]);
    });

    it('a forward to a session already gone ends nothing (revoked by id, or logged out by its new token)', async () => {
      const { token, session } = await h.service.create({ id: 'rr-after-4' });
      const rotated = (await h.service.rotate(token))!;
      expect(await h.service.revoke('rr-after-4', rotated.session.id)).toBe(true);
      // The forward is still there (10 s), and leads to nothing.
      expect(await h.redis.exists(forwardKey(h.prefix, session.id))).toBe(1);
      const gone = await reported(() => h.service.destroy(token));
      expect(gone).toEqual({ result: false, events: [], counted: [], announced: [] });
      expect(await h.service.revokeToken(token)).toBe(false);

      const other = await h.service.create({ id: 'rr-after-4' });
      const moved = (await h.service.rotate(other.token))!;
      expect(await h.service.destroy(moved.token)).toBe(true);
      expect(await h.service.destroy(other.token)).toBe(false);
      await nothingOf('rr-after-4', [session.id, rotated.session.id, other.session.id, moved.session.id]);
    });

    it('a logout by a token that never rotated, or by one whose session is gone without a forward, ends nothing else', async () => {
      const a = await h.service.create({ id: 'rr-after-5' });
      const b = await h.service.create({ id: 'rr-after-5' });
      expect(await h.service.destroy(a.token)).toBe(true);
      expect(await h.service.destroy(a.token)).toBe(false);
      expect(await h.service.get(b.token)).not.toBeNull();
      expect(await h.redis.zrange(`${h.prefix}user:rr-after-5`, 0, '-1')).toEqual([b.session.id]);
    });
  });

  it('a session rotating in a loop is revoked by the id a list showed, and the loop ends (50 rounds)', async () => {
    report(`rotate race, rotating loop: ${await rotatingLoopVsRevoke(ctx, 50)}`);
  });

  it('list() while 5 sessions rotate in loops shows each live session exactly once (300 lists)', async () => {
    report(`rotate race, list: ${await listDuringRotations(ctx, 5, 300)}`);
  });

  describe("an app that dies between a rotation's steps", () => {
    const newId = () => sessionIdOf(generateToken(Date.now() + 60_000));

    it('after the first step: the old token is refused, the marker has a TTL, and the next list clears it', async () => {
      const { token, session } = await h.service.create({ id: 'rr-crash-1' });
      const store = h.app.get(SessionStore);
      // The first step, as a rotation that began 10 s ago and died right after it.
      const begun = await store.beginRotation(session.id, newId(), Date.now() - 10_000, session.absoluteExpiresAt.getTime());
      expect(begun).not.toBeNull();
      expect(await h.service.get(token)).toBeNull();
      const pttl = await h.redis.pttl(`${h.prefix}${session.id}`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5000);
      // The guard's one GETEX refuses the old token; it sets the marker's own TTL (the native
      // command cannot do less), never past the idle timeout, and touches no session.
      expect(await h.service.touch(token)).toBeNull();
      expect(await h.redis.pttl(`${h.prefix}${session.id}`)).toBeLessThanOrEqual(600_000);
      expect(await h.service.update(token, { x: 1 })).toBeNull();
      // Its new key was never written: the list finds the rotation stuck, deletes the marker and unlists the id.
      expect(await h.service.list('rr-crash-1')).toEqual([]);
      expect(await h.redis.exists(`${h.prefix}${session.id}`)).toBe(0);
      expect(await h.redis.zcard(`${h.prefix}user:rr-crash-1`)).toBe(0);
      expect(await h.service.rotate(token)).toBeNull();
    });

    it('after the index swap: the new key lives 5 s, the forward 10 s, and nobody holds the new token', async () => {
      const { token, session } = await h.service.create({ id: 'rr-crash-2' });
      const next = newId();
      const store = h.app.get(SessionStore);
      const begun = await store.beginRotation(session.id, next, Date.now(), session.absoluteExpiresAt.getTime());
      // Steps 2-4 as the rotation sends them (store-rotate.ts), then nothing.
      const forward = forwardKey(h.prefix, session.id);
      await h.redis.set(`${h.prefix}${next}`, begun!.value, 'PX', 5000, 'NX');
      await h.redis.set(forward, maskId(session.id, next)!, 'PX', 10_000);
      await h.redis.zadd(`${h.prefix}user:rr-crash-2`, session.absoluteExpiresAt.getTime(), next);
      await h.redis.zrem(`${h.prefix}user:rr-crash-2`, session.id);
      for (const key of [`${h.prefix}${session.id}`, `${h.prefix}${next}`, forward]) {
        const pttl = await h.redis.pttl(key);
        expect({ key, ok: pttl > 0 && pttl <= (key === forward ? 10_000 : 5000) }).toEqual({ key, ok: true });
      }
      expect(await h.service.get(token)).toBeNull();
      // A revocation by the old id still reaches it, by the forward.
      expect(await h.service.revoke('rr-crash-2', session.id)).toBe(true);
      expect(await h.redis.exists(`${h.prefix}${next}`)).toBe(0);
    });
  });
});
