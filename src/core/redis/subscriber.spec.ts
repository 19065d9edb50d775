import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { openSubscriber, type RedisSubscriber } from './subscriber.js';

/* The subscriber factory on the tests' real Redis (globalSetup's NRS_TEST_REDIS_URL). */

const url = () => {
  const value = process.env.NRS_TEST_REDIS_URL;
  if (!value) throw new Error('NRS_TEST_REDIS_URL is not set: run the tests through jest (globalSetup provides Redis)');
  return value;
};

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('openSubscriber', () => {
  let admin: Redis;
  let source: Redis;
  let subscriber: RedisSubscriber<Redis> | undefined;
  // Each test's connections have a name of their own (duplicates inherit it), to find them in CLIENT LIST.
  let name: string;
  let channel: string;

  beforeAll(async () => {
    admin = new Redis(url(), { maxRetriesPerRequest: 1 });
    await admin.ping();
  });
  beforeEach(() => {
    name = `nrs-subscriber-spec-${randomBytes(4).toString('hex')}`;
    channel = `t:subscriber:${randomBytes(4).toString('hex')}`;
    // Like the module's own client: a command timeout and auto-pipelining, which a subscriber must not inherit.
    source = new Redis(url(), { connectionName: name, commandTimeout: 500, enableAutoPipelining: true, lazyConnect: true });
  });
  afterEach(async () => {
    const connection = subscriber?.connection;
    subscriber?.disconnect();
    subscriber = undefined;
    source.disconnect();
    // Closed, so that ioredis's disconnect timer (destroying a stream that does not close) is cleared.
    if (connection) await until(() => connection.status === 'end', "the subscriber's end");
  });
  afterAll(async () => {
    await admin.quit();
  });

  /** The id of the subscriber's connection on Redis (CLIENT LIST), by the name it inherited. */
  async function subscriberId(): Promise<string | undefined> {
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    return list
      .split('\n')
      .find((line) => line.includes(` name=${name} `))
      ?.match(/^id=(\d+)/)?.[1];
  }

  it('duplicates the connection without command timeout or auto-pipelining, and delivers messages', async () => {
    const messages: string[] = [];
    subscriber = openSubscriber(source, { onMessage: (from, message) => messages.push(`${from} ${message}`) });
    expect(subscriber.connection).not.toBe(source);
    expect(subscriber.connection.options.commandTimeout).toBeUndefined();
    expect(subscriber.connection.options.enableAutoPipelining).toBe(false);
    await subscriber.subscribe(channel);
    await admin.publish(channel, 'a b');
    await until(() => messages.length === 1, 'the message');
    expect(messages).toEqual([`${channel} a b`]);
  });

  it('tells onResubscribed once the channels are subscribed again after a reconnect, never for the first connection', async () => {
    const messages: string[] = [];
    let resubscribed = 0;
    subscriber = openSubscriber(source, {
      onMessage: (_from, message) => messages.push(message),
      onResubscribed: () => resubscribed++,
    });
    await subscriber.subscribe(channel);
    await until(async () => (await subscriberId()) !== undefined, 'the subscriber in CLIENT LIST');
    expect(resubscribed).toBe(0);

    await admin.client('KILL', 'ID', (await subscriberId())!);
    await until(() => resubscribed === 1, 'onResubscribed');
    // Subscribed again by the time it is told: a message published now arrives.
    expect(await admin.publish(channel, 'after')).toBeGreaterThanOrEqual(1);
    await until(() => messages.includes('after'), 'the message after the reconnect');
    expect(resubscribed).toBe(1);
  });

  it('with maxMessageBytes, drops a longer message undecoded (onOversized hears its length) and delivers one at the bound', async () => {
    const messages: string[] = [];
    const oversized: Array<[string, number]> = [];
    subscriber = openSubscriber(
      source,
      { onMessage: (_from, message) => messages.push(message), onOversized: (from, bytes) => oversized.push([from, bytes]) },
      { maxMessageBytes: 100 },
    );
    await subscriber.subscribe(channel);
    // Not even a 'message' listener: ioredis decodes a message into a string only for those.
    expect(subscriber.connection.listenerCount('message')).toBe(0);
    await admin.publish(channel, 'é'.repeat(51)); // 102 bytes, 51 characters
    await admin.publish(channel, 'a'.repeat(100));
    await until(() => messages.length === 1, 'the message at the bound');
    expect(messages).toEqual(['a'.repeat(100)]);
    expect(oversized).toEqual([[channel, 102]]);
  });

  it('disconnect() closes the connection for good', async () => {
    subscriber = openSubscriber(source, { onMessage: () => undefined });
    await subscriber.subscribe(channel);
    subscriber.disconnect();
    await until(() => subscriber!.connection.status === 'end', "status 'end'");
    await until(async () => (await subscriberId()) === undefined, 'the subscriber gone from CLIENT LIST');
  });
});
