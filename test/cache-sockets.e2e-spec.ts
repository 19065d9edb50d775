import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module, UseGuards, type ExecutionContext } from '@nestjs/common';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Socket as ClientSocket } from 'socket.io-client';
import { CurrentSession, SessionGuard, type TokenLookup } from '../src/index.js';
import { ChatGateway } from './readme-examples/chat.gateway.js';
import { ADAPTERS, createTestApp, type TestApp } from './support/app.js';
import {
  bearerGet,
  bearerPost,
  commandCalls,
  costOf,
  guardCommands,
  ms,
  refusalWindows,
  sessionsOf,
  untilHit,
  userOf,
} from './support/cache.js';
import { authenticated, ioConnect, say, until } from './support/live-clients.js';
import { sleep, uniquePrefix, usePrivateRedis } from './support/redis.js';

/*
 * The session cache's default (issue 20 item 11): with the `cache` option left out (and live
 * revocation on, its default), socket messages answer from the cache and HTTP requests do not.
 * Instance A has the README's socket.io gateway (a `@UseGuards(SessionGuard)` `whoami`
 * message); B ends sessions. Both on a private redis-server, whose INFO commandstats counts
 * what each message and request cost.
 */

/** A guard that reads the token from each message (`{ token }`), not from the socket's handshake. */
@Injectable()
class MessageTokenGuard extends SessionGuard {
  protected override extractToken(_request: unknown, context: ExecutionContext): TokenLookup {
    const data: unknown = context.switchToWs().getData();
    const token = (data as { token?: unknown } | undefined)?.token;
    return typeof token === 'string' ? { token, fromCookie: false } : { token: null, ambiguous: false };
  }
}

@WebSocketGateway()
class MessageTokenGateway {
  @UseGuards(MessageTokenGuard)
  @SubscribeMessage('as')
  as(@CurrentSession('username') username: string): string {
    return username;
  }
}

@Module({ providers: [ChatGateway, MessageTokenGateway] })
class GatewayModule {}

const SOCKETS = 10;
const MESSAGES_EACH = 50;

const report = (line: string) => process.stdout.write(`${line}\n`);

describe.each(ADAPTERS)('session cache left at its default: sockets cached, HTTP not (%s)', (adapter) => {
  const own = usePrivateRedis();
  const counters = () => commandCalls(own.admin);
  let a: TestApp;
  let b: TestApp;
  let keyPrefix: string;
  const sockets: ClientSocket[] = [];
  beforeAll(async () => {
    keyPrefix = uniquePrefix('cache-sockets');
    // `cache` left out on purpose; live revocation is on by default.
    const options = {
      keyPrefix,
      redis: { url: own.server.url },
      // 5 s deadline: a busy CI machine once took over 1 s (the default) for a write.
      redisTimeoutMs: 5000,
      isGlobal: true,
      transport: 'both',
      maxSessionsPerUser: null,
    } as const;
    a = await createTestApp(options, [GatewayModule], { adapter, assertionClient: false });
    b = await createTestApp(options, [], { adapter, assertionClient: false });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** A socket on A with a new session of its own, authenticated. */
  async function socketOf(user = userOf()) {
    const [{ token, id }] = await sessionsOf(a.app, user);
    const socket = ioConnect(a, { token });
    sockets.push(socket);
    expect(await authenticated(socket)).toBe(user.username);
    return { socket, token, id };
  }

  it(`guarded messages cost at most 0.05 Redis commands each at steady state (${SOCKETS} sockets × ${MESSAGES_EACH} messages); HTTP requests on the same app exactly 1 GETEX`, async () => {
    const warm = await socketOf();
    await untilHit(counters, () => say(warm.socket));
    const opened = await Promise.all(Array.from({ length: SOCKETS }, () => socketOf()));

    const messages = await costOf(counters, () =>
      Promise.all(
        opened.map(async ({ socket }) => {
          for (let i = 0; i < MESSAGES_EACH; i++) expect(await say(socket)).toBe(200);
        }),
      ),
    );
    const perMessage = guardCommands(messages) / (SOCKETS * MESSAGES_EACH);

    const requests = 200;
    const http = await costOf(counters, async () => {
      for (const { token } of opened) {
        const get = bearerGet(a.app, '/me', token);
        for (let i = 0; i < requests / SOCKETS; i++) expect(await get()).toBe(200);
      }
    });
    report(
      `cache default (${adapter}): ${perMessage.toFixed(3)} Redis commands per socket message (${JSON.stringify(messages)}), ` +
        `${(guardCommands(http) / requests).toFixed(3)} per HTTP request (${JSON.stringify(http)})`,
    );
    expect(perMessage).toBeLessThanOrEqual(0.05);
    expect(http).toEqual({ getex: requests });
  });

  it('a logout on B: the next message on A is refused', async () => {
    const { socket, token } = await socketOf();
    await untilHit(counters, () => say(socket));
    const [w] = await refusalWindows(
      [() => say(socket)],
      async () => expect(await bearerPost(b.app, '/auth/logout', token)).toBe(204),
      { refused: (status) => status !== 200 && status !== 0, tail: 1 },
    );
    const first = w.answers.find((x) => x.status !== 200);
    report(
      `cache window socket logout (${adapter}): A's first refusal (${first?.status === 499 ? 'socket closed' : `code ${first?.status}`}) ` +
        `${ms(w.windowMs)} after B's logout answered; ${w.stale} stale answers`,
    );
    expect(w.badBefore).toBe(0);
    expect(w.windowMs).toBeLessThan(1000);
    expect(w.afterRefusal).toBe(0);
    expect(await say(socket)).not.toBe(200);
  });

  it('a DEL of the key by another client (no end announced): the next message on A is refused', async () => {
    const { socket, id } = await socketOf();
    await untilHit(counters, () => say(socket));
    const [w] = await refusalWindows([() => say(socket)], async () => expect(await own.admin.del(`${keyPrefix}${id}`)).toBe(1), {
      refused: (status) => status !== 200 && status !== 0,
      tail: 1,
    });
    const first = w.answers.find((x) => x.status !== 200);
    report(
      `cache window socket DEL (${adapter}): A's first refusal (${first?.status === 499 ? 'socket closed' : `code ${first?.status}`}) ` +
        `${ms(w.windowMs)} after the DEL answered; ${w.stale} stale answers`,
    );
    expect(w.badBefore).toBe(0);
    expect(w.windowMs).toBeLessThan(1000);
    expect(w.afterRefusal).toBe(0);
    expect(first?.status === 401 || first?.status === 499).toBe(true);
  });

  it("a guard hook that reads a token per message: one socket's messages with two users' tokens answer each as its own user, and a logout ends only that user's", async () => {
    const { socket } = await socketOf();
    const [x, y] = [userOf(), userOf()];
    const [[tx], [ty]] = await Promise.all([sessionsOf(a.app, x), sessionsOf(a.app, y)]);
    const as = async (token: string) => {
      try {
        return (await socket.timeout(2000).emitWithAck('as', { token })) as string;
      } catch {
        return 'no answer';
      }
    };
    const refusals: unknown[] = [];
    socket.on('exception', (said: unknown) => refusals.push(said));
    // The cache's memo of the handshake's token (another session) must never answer for these.
    await untilHit(counters, async () => ((await as(tx.token)) === x.username ? 200 : 0));
    await untilHit(counters, async () => ((await as(ty.token)) === y.username ? 200 : 0));
    for (let i = 0; i < 20; i++) {
      expect(await as(tx.token)).toBe(x.username);
      expect(await as(ty.token)).toBe(y.username);
    }
    expect(await bearerPost(b.app, '/auth/logout', tx.token)).toBe(204);
    await until(async () => {
      const before = refusals.length;
      await Promise.race([as(tx.token), sleep(200)]);
      return refusals.length > before;
    }, "x's message refused");
    expect(await as(ty.token)).toBe(y.username);
    expect(refusals.at(-1)).toMatchObject({ code: 401, reason: 'SESSION_INVALID' });
  });
});
