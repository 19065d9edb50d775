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

/**
 * Redis counts the commands a script runs under their own names too (an EVALSHA of the cache
 * miss's read, `nrsPeek`, counts as EVALSHA, GET and PTTL). The commands clients sent: every
 * call, less at most one GET and one PTTL per script run (the twins' apps send no GET or PTTL
 * of their own; `byCommand` keeps every count as Redis gave it).
 */
export function sentCalls(byCommand: Record<string, { calls: number }>): number {
  const calls = (name: string) => byCommand[name]?.calls ?? 0;
  const scripts = calls('evalsha') + calls('eval') + calls('evalsha_ro') + calls('eval_ro');
  const total = Object.values(byCommand).reduce((sum, c) => sum + c.calls, 0);
  return total - Math.min(calls('get'), scripts) - Math.min(calls('pttl'), scripts);
}
