import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
const CHECKS = join(ROOT, 'test', 'support', 'package-check');
const CACHE = join(ROOT, 'node_modules', '.cache', 'nrs-packaging');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  engines: Record<string, string>;
  files: string[];
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
  // What else package.json "files" names (src/ for the source maps), whole: npm pack applies the patterns,
  // so a folder added there is packed here as from the repository.
  for (const top of new Set(pkg.files.filter((p) => !p.startsWith('!')).map((p) => p.replace(/^\.?\//, '').split('/')[0]))) {
    if (top !== 'dist' && existsSync(join(ROOT, top)) && !existsSync(join(dir, top))) {
      cpSync(join(ROOT, top), join(dir, top), { recursive: true });
    }
  }
  relocateMaps(out, join(dir, 'dist'));
  return dir;
}

/**
 * The maps tsc wrote in `out` name the sources relative to `out` (../../../src/x.ts from the
 * cache); in the copied package they must name them as `nest build` does from dist/ (../src/x.ts).
 */
function relocateMaps(out: string, dist: string, dir = dist): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      relocateMaps(out, dist, path);
      continue;
    }
    if (!entry.name.endsWith('.map')) continue;
    const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[]; sourceRoot?: string };
    const built = join(out, relative(dist, dir));
    map.sources = map.sources.map((source) =>
      relative(dir, join(dist, '..', relative(ROOT, resolve(built, map.sourceRoot ?? '', source)))).replaceAll('\\', '/'),
    );
    map.sourceRoot = '';
    writeFileSync(path, JSON.stringify(map));
  }
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

interface PackInfo {
  filename: string;
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string; size: number }>;
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

/** A script of test/support/package-check run with node in `dir` (copied there first): its last stdout line, parsed. */
async function runCheck(dir: string, script: string): Promise<{ result: Record<string, unknown>; stderr: string }> {
  copyFileSync(join(CHECKS, script), join(dir, script));
  const { stdout, stderr } = await run(process.execPath, [script], {
    cwd: dir,
    env: cleanEnv({ REDIS_URL: testRedisUrl() }),
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  const lines = stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]) as Record<string, unknown>, stderr };
}

/** tsc (module nodenext, strict) on package-check/testing-types.mts.txt as an app's test file in `dir`: its diagnostics. */
async function typeCheckTesting(dir: string): Promise<string> {
  copyFileSync(join(CHECKS, 'testing-types.mts.txt'), join(dir, 'testing-types.mts'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    '--ignoreConfig',
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
  ];
  args.push('--target', 'es2022', '--types', 'node', 'testing-types.mts');
  try {
    await run(process.execPath, [tsc, ...args], { cwd: dir, env: cleanEnv(), timeout: 120_000 });
    return '';
  } catch (err) {
    return (err as { stdout?: string }).stdout || String(err);
  }
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
  /** What `npm pack --json` says of the tarball: its size, unpacked size and file count. */
  let tarball: PackInfo;
  /** Both apps run at once (about 2 s each); each test awaits its own. */
  const apps: Record<'esm' | 'cjs', Promise<{ result: FixtureResult; stderr: string }>> = {} as never;
  /** nestjs-redis-session/testing from the installed package: imported, required (with a sign-in), type-checked. */
  const testingEntry: {
    esm: Promise<{ result: Record<string, unknown>; stderr: string }>;
    cjs: Promise<{ result: Record<string, unknown>; stderr: string }>;
    types: Promise<string>;
  } = {} as never;
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
    const [info] = JSON.parse(stdout) as PackInfo[];
    tarball = info;
    packed = info.files.map((file) => file.path);
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(work, info.filename), '-C', installed, '--strip-components=1']);
    for (const app of ['esm-app', 'cjs-app']) cpSync(join(FIXTURES, app), join(work, app), { recursive: true });
    apps.esm = runFixture(join(work, 'esm-app'), 'main.mjs');
    apps.cjs = runFixture(join(work, 'cjs-app'), 'main.cjs');
    testingEntry.esm = runCheck(work, 'testing-entry.mjs');
    testingEntry.cjs = runCheck(work, 'testing-entry.cjs');
    testingEntry.types = typeCheckTesting(work);
    // Reported by the test that awaits it, not as an unhandled rejection.
    for (const app of [...Object.values(apps), ...Object.values(testingEntry)]) app.catch(() => undefined);
  }, 150_000);
  afterAll(async () => {
    await Promise.allSettled([...Object.values(apps), ...Object.values(testingEntry)]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the entries, their types and the Lua scripts; not the demo, the test harness or the specs', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
      ]),
    );
    expect(packed.filter((path) => path.endsWith('.lua')).length).toBeGreaterThan(0);
    // dist/testing/ is nestjs-redis-session/testing (src/testing); the repository's test harness is test/, never packed.
    expect(packed.filter((path) => /^(dist\/demo\/|test\/)|\.spec\./.test(path))).toEqual([]);
  });

  // (npm packs a README.md of any folder it packs: src/README.md, the map of src/, comes along.)
  it('packs only what an app runs: dist/, the sources its source maps name, README and package.json', () => {
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
    console.log(
      `npm pack: ${tarball.filename}, ${kb(tarball.size)} packed, ${kb(tarball.unpackedSize)} unpacked, ${tarball.entryCount} files`,
    );
    expect(
      packed.filter(
        (path) => !/^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|js\.map|lua)|src\/.+\.ts|src\/README\.md)$/.test(path),
      ),
    ).toEqual([]);
    // Never the harness, the specs, the benchmark, the demo, the docs or build leftovers.
    const unwanted =
      /(^|\/)(test|tests|__tests__|bench|demo|docs|scripts|coverage|node_modules)\/|\.(e2e-|int-|topology-)?spec\.|\.tsbuildinfo$|^dist-/;
    expect(packed.filter((path) => unwanted.test(path))).toEqual([]);
    // Today (2026-12): 344 kB packed, 1.36 MB unpacked, 432 files (README.md alone 120 kB). The bounds leave
    // room for growth; adding test/ to "files" (+255 kB packed, +1 MB, +124 files) crosses each of them.
    const within = (value: number, low: number, high: number) => (value >= low && value <= high ? 'within bounds' : value);
    expect({
      packed: within(tarball.size, 50_000, 520_000),
      unpacked: within(tarball.unpackedSize, 200_000, 2_000_000),
      files: within(tarball.entryCount, 50, 520),
    }).toEqual({ packed: 'within bounds', unpacked: 'within bounds', files: 'within bounds' });
  });

  it('ships the typings of every entry point in package.json "exports" and every Lua script next to the compiled code', () => {
    const entries = Object.entries(pkg.exports ?? {}).filter(([key]) => key !== './package.json');
    expect(entries.map(([key]) => key).sort()).toEqual(['.', './health', './testing']);
    for (const [key, target] of entries) {
      const { types, default: main } = target as { types?: string; default?: string };
      expect({ key, types: types && packed.includes(types.replace(/^\.\//, '')) }).toEqual({ key, types: true });
      expect({ key, main: main && packed.includes(main.replace(/^\.\//, '')) }).toEqual({ key, main: true });
    }
    const lua = readdirSync(join(ROOT, 'src', 'core', 'redis', 'lua')).filter((name) => name.endsWith('.lua'));
    expect(lua.length).toBeGreaterThan(0);
    expect(lua.filter((name) => !packed.includes(`dist/core/redis/lua/${name}`))).toEqual([]);
    expect(packed.filter((path) => path.endsWith('.lua') && !path.startsWith('dist/core/redis/lua/'))).toEqual([]);
  });

  it('has no source map that points nowhere: each names files in the tarball, each sourceMappingURL a map in it', () => {
    const maps = packed.filter((path) => path.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const dangling: string[] = [];
    for (const path of maps) {
      const map = JSON.parse(readFileSync(join(installed, path), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of map.sources) {
        const target = relative(installed, resolve(installed, dirname(path), map.sourceRoot ?? '', source)).replaceAll('\\', '/');
        if (!packed.includes(target)) dangling.push(`${path} -> ${source}`);
      }
    }
    for (const path of packed.filter((name) => name.endsWith('.js'))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installed, path), 'utf8'))?.[1];
      if (url && !url.startsWith('data:') && !packed.includes(join(dirname(path), url).replaceAll('\\', '/'))) {
        dangling.push(`${path} -> ${url}`);
      }
    }
    expect(dangling).toEqual([]);
    // The sources shipped are the maps' sources: no spec, nothing a map does not name.
    const named = new Set(
      maps.flatMap((path) => {
        const map = JSON.parse(readFileSync(join(installed, path), 'utf8')) as { sources: string[]; sourceRoot?: string };
        return map.sources.map((source) => relative(installed, resolve(installed, dirname(path), map.sourceRoot ?? '', source)));
      }),
    );
    expect(packed.filter((path) => path.startsWith('src/') && path.endsWith('.ts') && !named.has(path))).toEqual([]);
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
    // The LTS lines CI runs (.ci/run: 24 and 22, the floor 22.12.0 on this suite): 22.12 is where
    // require(esm) needs no flag on the 22 line. Node 20 (end of life) is not claimed, though the
    // README's commands still run on it (this suite's apps need 20.19+ for require(esm)).
    expect(pkg.engines.node).toBe('>=22.12.0');
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

  it("exports['./testing'] names files in the tarball: nestjs-redis-session/testing and its typings", () => {
    const entry = pkg.exports?.['./testing'] as { types?: string; default?: string } | undefined;
    expect(entry?.types?.replace(/^\.\//, '')).toBe('dist/testing/index.d.ts');
    expect(entry?.default?.replace(/^\.\//, '')).toBe('dist/testing/index.js');
    expect(packed).toEqual(expect.arrayContaining([entry!.types!.replace(/^\.\//, ''), entry!.default!.replace(/^\.\//, '')]));
  });

  const TESTING_EXPORTS = {
    sessionForTest: 'function',
    sessionGuardForTest: 'function',
    signInForTest: 'function',
    signOutForTest: 'function',
  };

  it('an ES module test imports nestjs-redis-session/testing from the installed package', async () => {
    const { result, stderr } = await testingEntry.esm;
    expect(result).toEqual({
      resolved: pathToFileURL(join(installed, 'dist', 'testing', 'index.js')).href,
      exports: TESTING_EXPORTS,
      session: { userId: 1, role: 'admin', data: null },
    });
    expect(problems(stderr)).toEqual([]);
  });

  it("a CommonJS test require()s it, and its session passes the app's guard (one copy of the module's classes)", async () => {
    const { result, stderr } = await testingEntry.cjs;
    expect(result).toEqual({
      resolved: join(installed, 'dist', 'testing', 'index.js'),
      exports: TESTING_EXPORTS,
      cookie: 200,
      bearer: 200,
      signedOut: true,
      afterSignOut: 401,
    });
    expect(problems(stderr)).toEqual([]);
  });

  it('its typings type-check in an app (tsc, module nodenext, strict): real types, not any', async () => {
    expect(await testingEntry.types).toBe('');
  }, 150_000);
});
