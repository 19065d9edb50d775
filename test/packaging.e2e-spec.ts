import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testRedisUrl } from './support/redis.js';

/*
 * The package as users install it: `npm pack`, the tarball unpacked into a node_modules,
 * and two plain-JavaScript Nest 12 apps (test/fixtures), one ES module and one CommonJS
 * (require(esm)), that load it by name, log in, call guarded routes and print one JSON line.
 *
 * What is packed: the repository itself when dist/ is newer than every build input (CI
 * runs `npm run build` first); otherwise a copy compiled by tsc with tsconfig.build.json,
 * incrementally, in node_modules/.cache/nrs-packaging (a few seconds after the first
 * time), so this suite never deletes and rebuilds dist/ under another one.
 */

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const CACHE = join(ROOT, 'node_modules', '.cache', 'nrs-packaging');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  engines: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/** Newest modification time (ms) of the build inputs. */
function newestInput(): number {
  let newest = 0;
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (!path.endsWith('.spec.ts')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  visit(join(ROOT, 'src'));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json']) visit(join(ROOT, file));
  return newest;
}

function builtAt(): number {
  try {
    return statSync(join(ROOT, 'dist', 'index.js')).mtimeMs;
  } catch {
    return 0;
  }
}

/** The directory to `npm pack`: the repository when dist/ is fresh, else a freshly compiled copy in `work`. */
async function packageDir(work: string): Promise<string> {
  if (builtAt() >= newestInput()) return ROOT;
  const out = join(CACHE, 'dist');
  const buildInfo = join(CACHE, 'tsbuildinfo');
  // tsc --incremental does not re-emit files it believes are there.
  if (!existsSync(join(out, 'index.js'))) rmSync(buildInfo, { force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['-p', 'tsconfig.build.json', '--outDir', out, '--incremental', '--tsBuildInfoFile', buildInfo];
  await run(process.execPath, [tsc, ...args], { cwd: ROOT, env: cleanEnv(), timeout: 120_000 });
  removeOrphans(out);
  const dir = join(work, 'package');
  cpSync(out, join(dir, 'dist'), { recursive: true });
  // What nest-cli.json's assets copy.
  const lua = join(ROOT, 'src', 'core', 'redis', 'lua');
  mkdirSync(join(dir, 'dist', 'core', 'redis', 'lua'), { recursive: true });
  for (const file of readdirSync(lua).filter((name) => name.endsWith('.lua'))) {
    copyFileSync(join(lua, file), join(dir, 'dist', 'core', 'redis', 'lua', file));
  }
  for (const file of ['package.json', 'README.md']) copyFileSync(join(ROOT, file), join(dir, file));
  return dir;
}

/**
 * Drops compiled files whose source is gone (a file moved or deleted since the cache was
 * built): tsc --incremental writes new outputs but never removes old ones.
 */
function removeOrphans(out: string, dir = out): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removeOrphans(out, path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      continue;
    }
    const source = join(ROOT, 'src', relative(out, path)).replace(/\.(js|d\.ts|js\.map|d\.ts\.map)$/, '.ts');
    if (!existsSync(source)) rmSync(path);
  }
}

/** Child processes run like a user's: without Jest's NODE_OPTIONS. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/** What an app printed to stderr, less Node's warnings (some Node versions flag require(esm) as experimental). */
function problems(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() && !/^\(node:\d+\) \[?\w*\]? ?\w*Warning: |^\(Use `node --trace-warnings/.test(line));
}

interface FixtureResult {
  fixture: string;
  resolved: string;
  requiredEsm?: boolean;
  login: number;
  me: { status: number; body: unknown };
  admin: number;
  anonymous: number;
  logout: number;
  afterLogout: number;
}

async function runFixture(dir: string, main: string): Promise<{ result: FixtureResult; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [main], {
    cwd: dir,
    env: cleanEnv({ REDIS_URL: testRedisUrl() }),
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  const lines = stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]) as FixtureResult, stderr };
}

describe('the published package', () => {
  /**
   * This run's app directory, inside node_modules/.cache so that the apps find Nest and
   * the other peers in the repository's node_modules, as an app finds its own:
   * `<work>/node_modules/nestjs-redis-session` (the unpacked tarball), `<work>/esm-app`, `<work>/cjs-app`.
   */
  let work: string;
  let installed: string;
  let packed: string[] = [];
  /** Both apps run at once (about 2 s each); each test awaits its own. */
  const apps: Record<'esm' | 'cjs', Promise<{ result: FixtureResult; stderr: string }>> = {} as never;
  beforeAll(async () => {
    mkdirSync(CACHE, { recursive: true });
    work = mkdtempSync(join(CACHE, 'run-'));
    installed = join(work, 'node_modules', 'nestjs-redis-session');
    const source = await packageDir(work);
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: source,
      env: cleanEnv(),
      timeout: 60_000,
    });
    const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info.files.map((file) => file.path);
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(work, info.filename), '-C', installed, '--strip-components=1']);
    for (const app of ['esm-app', 'cjs-app']) cpSync(join(FIXTURES, app), join(work, app), { recursive: true });
    apps.esm = runFixture(join(work, 'esm-app'), 'main.mjs');
    apps.cjs = runFixture(join(work, 'cjs-app'), 'main.cjs');
    // Reported by the test that awaits it, not as an unhandled rejection.
    for (const app of Object.values(apps)) app.catch(() => undefined);
  }, 150_000);
  afterAll(async () => {
    await Promise.allSettled(Object.values(apps));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the entry, its types and the Lua scripts; not the demo, the test harness or the specs', () => {
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
    expect(packed.filter((path) => path.endsWith('.lua')).length).toBeGreaterThan(0);
    expect(packed.filter((path) => /^dist\/(demo|testing)\/|\.spec\./.test(path))).toEqual([]);
  });

  it('imports no HTTP platform: it runs on whichever adapter the app uses', () => {
    const imports = packed
      .filter((path) => path.endsWith('.js'))
      .flatMap((path) => [
        ...readFileSync(join(installed, path), 'utf8').matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/g),
      ])
      .map((match) => match[1] ?? match[2]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((name) => /^(express|fastify|@nestjs\/platform-|@fastify\/)/.test(name))).toEqual([]);
    expect(Object.keys(pkg.peerDependencies).filter((name) => name.startsWith('@nestjs/platform-'))).toEqual([]);
  });

  it('states the Node and Nest versions it supports', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(major > 20 || (major === 20 && minor >= 19)).toBe(true); // require(esm) without a flag
    expect(pkg.peerDependencies['@nestjs/common']).toBe('^11.0.0 || ^12.0.0');
    expect(pkg.peerDependencies['@nestjs/core']).toBe('^11.0.0 || ^12.0.0');
  });

  it("is named nestjs-redis-session; main, types and exports['.'] point at the built entry", () => {
    expect(pkg.name).toBe('nestjs-redis-session');
    expect(pkg.main?.replace(/^\.\//, '')).toBe('dist/index.js');
    expect(pkg.types?.replace(/^\.\//, '')).toBe('dist/index.d.ts');
    const entry = pkg.exports?.['.'] as { types?: string; default?: string } | undefined;
    expect(entry?.types?.replace(/^\.\//, '')).toBe('dist/index.d.ts');
    expect(entry?.default?.replace(/^\.\//, '')).toBe('dist/index.js');
    // And what they name is in the tarball.
    expect(packed).toEqual(expect.arrayContaining([pkg.main!.replace(/^\.\//, ''), pkg.types!.replace(/^\.\//, '')]));
  });

  it('takes Nest, ioredis, class-validator, class-transformer, reflect-metadata and rxjs as peers, never as dependencies', () => {
    const peers = [
      '@nestjs/common',
      '@nestjs/core',
      'ioredis',
      'class-validator',
      'class-transformer',
      'reflect-metadata',
      'rxjs',
    ];
    for (const name of peers) expect({ name, peer: pkg.peerDependencies[name] }).toEqual({ name, peer: expect.any(String) });
    expect(Object.keys(pkg.dependencies ?? {}).filter((name) => peers.includes(name))).toEqual([]);
  });

  const expected = (fixture: string) => ({
    fixture,
    resolved: join(installed, 'dist', 'index.js'),
    login: 200,
    me: { status: 200, body: { userId: 1, username: 'alice' } },
    admin: 200,
    anonymous: 401,
    logout: 204,
    afterLogout: 401,
  });

  it('an ES module Nest 12 app imports it, logs in, calls a guarded route and exits', async () => {
    const { result, stderr } = await apps.esm;
    expect(result).toEqual(expected('esm'));
    expect(problems(stderr)).toEqual([]);
  });

  it('a CommonJS Nest 12 app require()s it (require(esm): no top-level await in the package)', async () => {
    const { result, stderr } = await apps.cjs;
    expect(result).toEqual({ ...expected('cjs'), requiredEsm: true });
    expect(problems(stderr)).toEqual([]);
  });
});
