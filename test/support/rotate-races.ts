import { expect } from '@jest/globals';
import { SessionOps, type SessionService } from '../../src/index.js';
import { sleep } from './redis.js';

/*
 * Changes and ends racing SessionService.rotate, at the service level: shared by
 * test/rotate-races.int-spec.ts (one Redis) and test/topology/rotate-races.topology-spec.ts
 * (a 3-master Cluster, where the old key, the new key and the index live on different nodes).
 * Each race returns its counts for the report line; the expectations are inside.
 */

/** What the races look at Redis with: a Redis or a Cluster client. */
export interface KeyReader {
  exists(key: string): Promise<number>;
  zcard(key: string): Promise<number>;
}

export interface RaceContext {
  service: SessionService;
  redis: KeyReader;
  prefix: string;
  /** A user id no other round uses. */
  user(name: string): string;
  /** The keys under the prefix whose name or content mentions one of `ids` (where every key can be read). */
  mentions?(ids: string[]): Promise<string[]>;
}

const randomInt = (max: number) => Math.floor(Math.random() * (max + 1));

/**
 * Starts `a` and `b` in the order and with the delay a round picks: both in the same tick
 * (either first), or one 0-3 ms after the other, so the second lands before, inside and after
 * the rotation's steps across rounds.
 */
function race<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  switch (round % 4) {
    case 0:
      return Promise.all([a(), b()]);
    case 1: {
      const second = b();
      return Promise.all([a(), second]);
    }
    case 2:
      return Promise.all([a(), sleep(randomInt(3)).then(b)]);
    default:
      return Promise.all([sleep(randomInt(3)).then(a), b()]);
  }
}

/** Starts `a` then `b` in the same tick on even rounds, `b` then `a` on odd ones. */
async function sameTick<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (round % 2 === 0) return Promise.all([a(), b()]);
  const second = b();
  return Promise.all([a(), second]);
}

/**
 * Nothing of the session is left: no session key under any of its ids, no index entry, no list
 * entry, and (where the context can look at every key) no key that mentions one of its ids.
 */
async function nothingLeft(ctx: RaceContext, user: string, ids: string[]): Promise<void> {
  // One key per EXISTS: on a Cluster the ids hash to different slots.
  const live = await Promise.all(ids.map((id) => ctx.redis.exists(`${ctx.prefix}${id}`)));
  expect({ user, keys: live.reduce((a, b) => a + b, 0) }).toEqual({ user, keys: 0 });
  expect({ user, indexed: await ctx.redis.zcard(`${ctx.prefix}user:${user}`) }).toEqual({ user, indexed: 0 });
  expect({ user, listed: await ctx.service.list(user) }).toEqual({ user, listed: [] });
  if (ctx.mentions) expect({ user, mentioned: await ctx.mentions(ids) }).toEqual({ user, mentioned: [] });
}

/** updateUser({ role: 'user' }) racing rotate: the rotated session has the new role, and updateUser counts it. */
export async function demotionVsRotate(ctx: RaceContext, rounds: number): Promise<string> {
  let counted = 0;
  for (let round = 0; round < rounds; round++) {
    const user = ctx.user(`demote-${round}`);
    const { token } = await ctx.service.create({ id: user, role: 'admin' });
    const [rotated, changed] = await race(
      round,
      () => ctx.service.rotate(token),
      () => ctx.service.updateUser(user, { role: 'user' }),
    );
    expect({ round, rotated: rotated !== null, changed }).toEqual({ round, rotated: true, changed: 1 });
    expect({ round, role: (await ctx.service.get(rotated!.token))?.role }).toEqual({ round, role: 'user' });
    expect({ round, old: await ctx.service.get(token) }).toEqual({ round, old: null });
    counted += changed;
  }
  return `${rounds} rounds, the demotion counted ${counted} times and seen on the rotated session every time`;
}

/**
 * update(oldToken) racing rotate, both started in the same tick (either first): the update lands
 * on the rotated session, exactly once (an increment counts 1).
 */
export async function updateVsRotate(ctx: RaceContext, rounds: number): Promise<string> {
  for (let round = 0; round < rounds; round++) {
    const user = ctx.user(`update-${round}`);
    const { token, session } = await ctx.service.create({ id: user, plan: 'free' });
    const rotate = () => ctx.service.rotate(token);
    const update = () => ctx.service.update(token, { plan: 'pro', n: SessionOps.increment() });
    const [rotated, updated] = await sameTick(round, rotate, update);
    expect({ round, rotated: rotated !== null, updated: updated !== null }).toEqual({ round, rotated: true, updated: true });
    expect({ round, data: (await ctx.service.get(rotated!.token))?.data }).toEqual({ round, data: { plan: 'pro', n: 1 } });
    // The update answers with the session as its token named it.
    expect({ round, id: updated!.id }).toEqual({ round, id: session.id });
  }
  return `${rounds} rounds, ${rounds} updates landed on the rotated session, each once`;
}

/** revoke(userId, id) racing rotate: revoke finds the session by its id before, during and after the rotation, and it ends. */
export async function revokeVsRotate(ctx: RaceContext, rounds: number): Promise<string> {
  let rotateLost = 0;
  for (let round = 0; round < rounds; round++) {
    const user = ctx.user(`revoke-${round}`);
    const { token, session } = await ctx.service.create({ id: user });
    const [rotated, revoked] = await race(
      round,
      () => ctx.service.rotate(token),
      () => ctx.service.revoke(user, session.id),
    );
    expect({ round, revoked }).toEqual({ round, revoked: true });
    if (rotated === null) rotateLost++;
    else expect({ round, rotated: await ctx.service.get(rotated.token) }).toEqual({ round, rotated: null });
    expect({ round, old: await ctx.service.get(token) }).toEqual({ round, old: null });
    await nothingLeft(ctx, user, rotated ? [session.id, rotated.session.id] : [session.id]);
  }
  return `${rounds} rounds, ${rounds} revocations found the session (${rotateLost} rotations lost, the others' new token ended), 0 survived`;
}

/** destroy(oldToken) (a logout) racing rotate in the same tick: the session ends, the rotation loses. */
export async function destroyVsRotate(ctx: RaceContext, rounds: number): Promise<string> {
  for (let round = 0; round < rounds; round++) {
    const user = ctx.user(`destroy-${round}`);
    const { token, session } = await ctx.service.create({ id: user });
    const [rotated, destroyed] = await sameTick(
      round,
      () => ctx.service.rotate(token),
      () => ctx.service.destroy(token),
    );
    expect({ round, rotated, destroyed }).toEqual({ round, rotated: null, destroyed: true });
    await nothingLeft(ctx, user, [session.id]);
  }
  return `${rounds} rounds, ${rounds} logouts ended the session, ${rounds} rotations lost, 0 survived`;
}

/**
 * A logout (`destroy`) or a `revokeToken` by the old token once `rotate()` has resolved (sent
 * before the rotate's answer reached the client, as far as the client knows): it follows the
 * forward and ends the rotated session. Every third round the session rotated twice, and the
 * first token ends the second successor.
 */
export async function endAfterRotate(ctx: RaceContext, rounds: number): Promise<string> {
  for (let round = 0; round < rounds; round++) {
    const user = ctx.user(`end-after-${round}`);
    const { token, session } = await ctx.service.create({ id: user });
    const ids = [session.id];
    let last = token;
    for (let n = round % 3 === 2 ? 2 : 1; n > 0; n--) {
      const next = await ctx.service.rotate(last);
      expect({ round, rotated: next !== null }).toEqual({ round, rotated: true });
      last = next!.token;
      ids.push(next!.session.id);
    }
    const ended = round % 2 === 0 ? await ctx.service.destroy(token) : await ctx.service.revokeToken(token);
    expect({ round, ended }).toEqual({ round, ended: true });
    expect({ round, rotated: await ctx.service.get(last) }).toEqual({ round, rotated: null });
    expect({ round, again: await ctx.service.destroy(token) }).toEqual({ round, again: false });
    await nothingLeft(ctx, user, ids);
  }
  return `${rounds} rounds, ${rounds} logouts or revokeToken by the old token ended the rotated session, 0 survived`;
}

/**
 * A session that rotates in a loop while it is revoked by the id a list showed a moment before:
 * the revocation finds it (through forwards when it has moved on), and the loop ends.
 */
export async function rotatingLoopVsRevoke(ctx: RaceContext, rounds: number): Promise<string> {
  let rotations = 0;
  for (let round = 0; round < rounds; round++) {
    const user = ctx.user(`loop-${round}`);
    const first = await ctx.service.create({ id: user });
    let token = first.token;
    const ids = [first.session.id];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const next = await ctx.service.rotate(token);
        if (next === null) return;
        token = next.token;
        ids.push(next.session.id);
      }
    })();
    let revoked: boolean;
    let ended: boolean;
    try {
      await sleep(1 + randomInt(5));
      const [listed] = await ctx.service.list(user);
      expect({ round, listed: listed !== undefined }).toEqual({ round, listed: true });
      await sleep(randomInt(3));
      revoked = await ctx.service.revoke(user, listed.id);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
      ended = await Promise.race([loop.then(() => true), timeout]);
      clearTimeout(timer);
    } finally {
      // A loop the revocation did not end stops here, failing the round.
      stop = true;
      await loop;
    }
    expect({ round, revoked, ended }).toEqual({ round, revoked: true, ended: true });
    expect({ round, last: await ctx.service.get(token) }).toEqual({ round, last: null });
    await nothingLeft(ctx, user, ids);
    rotations += ids.length - 1;
  }
  return `${rounds} rounds, ${rotations} rotations, revoked by a listed id every round, 0 loops survived`;
}

/** `lists` lists of a user whose `sessions` sessions all rotate in loops: each list shows every one exactly once. */
export async function listDuringRotations(ctx: RaceContext, sessions: number, lists: number): Promise<string> {
  const user = ctx.user('list');
  const created = await Promise.all(Array.from({ length: sessions }, (_, n) => ctx.service.create({ id: user, n })));
  let stop = false;
  let rotations = 0;
  const loops = created.map(async ({ token: first }) => {
    let token = first;
    while (!stop) {
      const next = await ctx.service.rotate(token);
      expect(next).not.toBeNull();
      token = next!.token;
      rotations++;
    }
    return token;
  });
  const wrong: string[] = [];
  try {
    for (let i = 0; i < lists; i++) {
      const listed = await ctx.service.list(user);
      const seen = listed.map((s) => s.data?.n as number).sort((a, b) => a - b);
      if (seen.join() !== created.map((_, n) => n).join()) wrong.push(`list ${i}: ${JSON.stringify(seen)}`);
      if (new Set(listed.map((s) => s.id)).size !== listed.length) wrong.push(`list ${i}: an id twice`);
    }
  } finally {
    stop = true;
  }
  const tokens = await Promise.all(loops);
  expect(wrong).toEqual([]);
  expect(rotations).toBeGreaterThan(lists);
  const live = await Promise.all(tokens.map((token) => ctx.service.get(token)));
  expect(live.every((s) => s !== null)).toBe(true);
  expect((await ctx.service.list(user)).map((s) => s.id).sort()).toEqual(live.map((s) => s!.id).sort());
  return `${lists} lists while ${sessions} sessions rotated ${rotations} times: every list showed each session exactly once`;
}
