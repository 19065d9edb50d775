import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

/*
 * The package's public surface (scripts/public-exports.mjs): every runtime export of
 * `nestjs-redis-session` and `nestjs-redis-session/health` (with the static methods of
 * classes, SessionModule.forRoot/forRootAsync, and the keys of objects such as SessionEvent),
 * every exported type, and the members of exported classes, interfaces and object-shaped
 * type aliases (`?` on optional ones, so a dropped or newly required option field shows),
 * compared with test/fixtures/public-exports.json. A refactor leaves it unchanged; an API
 * change updates the snapshot (`node scripts/public-exports.mjs --write`) in its commit.
 *
 * Checked on dist/ when it is newer than src/ and the tsconfigs (CI builds first), else on a
 * tsc build of src/ in node_modules/.cache (incremental: a few seconds after the first time),
 * so this suite never deletes and rebuilds dist/ under another one.
 */

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'nrs-exports');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith('.spec.ts') ? 0 : stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((entry) => newest(join(path, entry))));
}

async function builtPackage(): Promise<string> {
  const dist = join(ROOT, 'dist');
  const built = existsSync(join(dist, 'index.js')) ? statSync(join(dist, 'index.js')).mtimeMs : 0;
  const inputs = [join(ROOT, 'src'), join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json')];
  if (built >= Math.max(...inputs.map(newest))) return dist;
  const out = join(CACHE, 'dist');
  const buildInfo = join(CACHE, 'tsbuildinfo');
  // tsc --incremental does not re-emit files it believes are there.
  if (!existsSync(join(out, 'index.js'))) rmSync(buildInfo, { force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', out, '--incremental', '--tsBuildInfoFile', buildInfo],
    {
      cwd: ROOT,
      timeout: 120_000,
    },
  );
  return out;
}

describe('the public API of nestjs-redis-session and nestjs-redis-session/health', () => {
  it('exports exactly the names of the snapshot: runtime exports and their static methods, types and their members', async () => {
    const dist = await builtPackage();
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules is not for the script
    const result = await run(process.execPath, [join(ROOT, 'scripts', 'public-exports.mjs'), '--check', dist], {
      cwd: ROOT,
      env,
      timeout: 60_000,
    }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? 1,
        output: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      }),
    );
    // The script's own report (added, removed and changed names) is the failure message.
    if (result.code !== 0) throw new Error(result.output);
    expect(result.output).toBe('public exports: same as the snapshot\n');
  }, 150_000);
});
