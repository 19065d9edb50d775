export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __nrsRedisStop?: () => Promise<void> }).__nrsRedisStop?.();
}
