import { afterAll, describe, expect, it } from '@jest/globals';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SessionModule, SessionService, type IssuedSession, type SessionModuleOptions } from '../../src/index.js';
import { adminCommand } from '../support/servers/redis-admin.js';
import { spawnRedisSentinel, type SpawnedRedisSentinel } from '../support/servers/redis-sentinel.js';
import { sleep, uniquePrefix } from '../support/redis.js';

/**
 * What a Sentinel failover loses, with and without `durability: 'replicated'`.
 *
 * "Lagging replica": the replica is paused (SIGSTOP) and 48 MB of ballast is written so
 * the replication stream backs up past the kernel's socket buffers (a paused process still
 * receives into them); then logins and logouts run, the master is killed (SIGKILL), the
 * replica resumes and is promoted. Every write the old master acknowledged in that window is
 * gone: lost logins, and logged-out sessions that come back. With 'replicated', those
 * writes are refused (503) instead of acknowledged.
 *
 * "Steady traffic": logins and logouts at full speed, master killed mid-way, replica
 * healthy: what asynchronous replication loses in the normal case.
 */

interface LossFigures {
  mode: 'none' | 'replicated';
  scenario: 'lagging replica' | 'steady traffic';
  loginsAcknowledged: number;
  loginsRefused: number;
  loginsLost: number;
  logoutsAcknowledged: number;
  logoutsRefused: number;
  sessionsResurrected: number;
}

const figures: LossFigures[] = [];
const topologies: SpawnedRedisSentinel[] = [];
const contexts: INestApplicationContext[] = [];

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  for (const topology of topologies) await topology.stop();
  process.stdout.write(`failover loss figures:\n${figures.map((f) => JSON.stringify(f)).join('\n')}\n`);
});

async function setUp(durability: 'none' | 'replicated') {
  const topology = await spawnRedisSentinel({ replicas: 1, sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 2000 });
  topologies.push(topology);
  const keyPrefix = uniquePrefix('loss');
  const options: SessionModuleOptions = {
    redis: { sentinels: topology.sentinelAddresses, name: topology.name },
    keyPrefix,
    durability,
    // Each worker logs one user in hundreds of times: no cap, so a session evicted past the
    // default 100 per user is never counted as lost to the failover.
    maxSessionsPerUser: null,
  };
  @Module({ imports: [SessionModule.forRoot({ ...options, controller: false })] })
  class LossModule {}
  const context = await NestFactory.createApplicationContext(LossModule, { logger: false });
  contexts.push(context);
  return { topology, service: context.get(SessionService), keyPrefix };
}

/** Retries through the failover: the answer once Redis answers again. */
async function afterFailover<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

async function settle<T>(promises: Promise<T>[]): Promise<{ ok: T[]; refused: number }> {
  const results = await Promise.allSettled(promises);
  const ok = results.filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === 'fulfilled').map((r) => r.value as T);
  const refused = results.filter((r) => r.status === 'rejected').length;
  return { ok, refused };
}

async function count(service: SessionService, tokens: string[]): Promise<number> {
  let alive = 0;
  for (const token of tokens) if (await afterFailover(() => service.get(token))) alive++;
  return alive;
}

describe.each(['none', 'replicated'] as const)("durability '%s'", (mode) => {
  it('a replica lagging at failover time', async () => {
    const { topology, service, keyPrefix } = await setUp(mode);
    const user = { id: 'lag' };
    // Sessions to log out later, safely on the replica first.
    const existing: IssuedSession[] = [];
    for (let i = 0; i < 50; i++) existing.push(await service.create(user));
    await sleep(300);

    const replica = topology.replicas[0];
    replica.signal('SIGSTOP');
    let logins: { ok: IssuedSession[]; refused: number };
    let logouts: { ok: boolean[]; refused: number };
    try {
      const ballast = 'x'.repeat(16 * 1024 * 1024);
      for (let i = 0; i < 3; i++) {
        await adminCommand(topology.master.port, ['SET', `${keyPrefix}ballast:${i}`, ballast, 'PX', 60_000], {
          timeoutMs: 10_000,
        });
      }
      [logins, logouts] = await Promise.all([
        settle(Array.from({ length: 50 }, () => service.create(user))),
        settle(existing.map((s) => service.destroy(s.token))),
      ]);
      topology.master.signal('SIGKILL');
    } finally {
      replica.signal('SIGCONT');
    }
    await topology.waitForNewMaster(topology.master.port, 20_000);

    const loggedOut = existing.filter((_, i) => logouts.ok[i] === true);
    const figure: LossFigures = {
      mode,
      scenario: 'lagging replica',
      loginsAcknowledged: logins.ok.length,
      loginsRefused: logins.refused,
      loginsLost:
        logins.ok.length -
        (await count(
          service,
          logins.ok.map((s) => s.token),
        )),
      logoutsAcknowledged: loggedOut.length,
      logoutsRefused: logouts.refused,
      sessionsResurrected: await count(
        service,
        loggedOut.map((s) => s.token),
      ),
    };
    figures.push(figure);
    if (mode === 'replicated') {
      // Nothing acknowledged is lost, and no acknowledged logout is undone.
      expect(figure.loginsLost).toBe(0);
      expect(figure.sessionsResurrected).toBe(0);
      expect(figure.loginsRefused + figure.logoutsRefused).toBeGreaterThan(0);
    } else {
      // The window is real: what the old master acknowledged alone is gone.
      expect(figure.loginsLost + figure.sessionsResurrected).toBeGreaterThan(0);
    }
  });

  it('steady traffic when the master dies', async () => {
    const { topology, service } = await setUp(mode);
    const stopAt = Date.now() + 2500;
    const acknowledgedLogins: string[] = [];
    const acknowledgedLogouts: string[] = [];
    // A logout that failed may still have reached Redis: its session's fate is unknown.
    const unknownLogouts = new Set<string>();
    let loginsRefused = 0;
    let logoutsRefused = 0;
    const worker = async (n: number) => {
      while (Date.now() < stopAt) {
        try {
          const { token } = await service.create({ id: `steady-${n}` });
          acknowledgedLogins.push(token);
          if (acknowledgedLogins.length % 2 === 0) {
            try {
              if (await service.destroy(token)) acknowledgedLogouts.push(token);
            } catch {
              logoutsRefused++;
              unknownLogouts.add(token);
            }
          }
        } catch {
          loginsRefused++;
          await sleep(20);
        }
      }
    };
    const traffic = Promise.all(Array.from({ length: 20 }, (_, n) => worker(n)));
    await sleep(1000);
    topology.master.signal('SIGKILL');
    await traffic;
    await topology.waitForNewMaster(topology.master.port, 20_000);

    const loggedOut = new Set(acknowledgedLogouts);
    const live = acknowledgedLogins.filter((t) => !loggedOut.has(t) && !unknownLogouts.has(t));
    const figure: LossFigures = {
      mode,
      scenario: 'steady traffic',
      loginsAcknowledged: acknowledgedLogins.length,
      loginsRefused,
      loginsLost: live.length - (await count(service, live)),
      logoutsAcknowledged: acknowledgedLogouts.length,
      logoutsRefused,
      sessionsResurrected: await count(service, acknowledgedLogouts),
    };
    figures.push(figure);
    expect(figure.loginsAcknowledged).toBeGreaterThan(0);
    if (mode === 'replicated') {
      expect(figure.loginsLost).toBe(0);
      expect(figure.sessionsResurrected).toBe(0);
    }
    // The old master is gone for good: make sure nothing still points at it.
    await expect(adminCommand(topology.master.port, ['PING'], { timeoutMs: 300 })).rejects.toThrow();
  });
});
