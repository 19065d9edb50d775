import type { Redis } from 'ioredis';

export interface CommandStats {
  calls: number;
  usec: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

/** Command calls and server time since the last CONFIG RESETSTAT, leaving out INFO/CONFIG themselves. */
export async function commandStats(admin: Redis): Promise<CommandStats> {
  const info = await admin.info('commandstats');
  const stats: CommandStats = { calls: 0, usec: 0, byCommand: {} };
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (/^(info|config)\b/.test(match[1])) continue;
    const calls = Number(match[2]);
    const usec = Number(match[3]);
    stats.byCommand[match[1]] = { calls, usec };
    stats.calls += calls;
    stats.usec += usec;
  }
  return stats;
}

export async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

export async function redisVersion(admin: Redis): Promise<string> {
  const info = await admin.info('server');
  return /^redis_version:(\S+)/m.exec(info)![1];
}
