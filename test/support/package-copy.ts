import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHECKS = join(ROOT, 'test', 'support', 'package-check');

/** An app directory outside the repo with the compiled package in its node_modules. */
export interface AppDir {
  dir: string;
  /** Runs one of test/support/package-check/<script> with node in `dir`; resolves with its stdout and stderr. */
  run(script: string, env?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  remove(): void;
}

/**
 * An app that installed the package (compiled from src/ by package-check/transpile.mjs)
 * and every dependency of this repo but `without`: each other entry of node_modules is a
 * symlink into the repo's. The directory lies outside the repo, so resolving a missing
 * package from the copied code walks up to nothing and fails, as in a real app.
 */
export function appWithPackage(without: readonly string[]): AppDir {
  const dir = mkdtempSync(join(tmpdir(), 'nrs-app-'));
  try {
    const modules = join(dir, 'node_modules');
    mkdirSync(modules);
    link(join(ROOT, 'node_modules'), modules, '', new Set(without));
    execFileSync(process.execPath, [join(CHECKS, 'transpile.mjs'), ROOT, join(modules, 'nestjs-redis-session')], {
      stdio: 'pipe',
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    run(script, env = {}) {
      copyFileSync(join(CHECKS, script), join(dir, script));
      // A clean environment: no NODE_PATH, no Jest worker id, no --experimental-vm-modules.
      const clean: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
      return new Promise((resolve, reject) => {
        execFile(process.execPath, [script], { cwd: dir, env: clean, timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
          else resolve({ stdout, stderr });
        });
      });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function link(from: string, to: string, scope: string, without: ReadonlySet<string>): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const name = scope ? `${scope}/${entry.name}` : entry.name;
    if (without.has(name) || entry.name === '.bin' || entry.name === '.package-lock.json') continue;
    if (!scope && entry.name.startsWith('@') && entry.isDirectory()) {
      mkdirSync(join(to, entry.name));
      link(join(from, entry.name), join(to, entry.name), entry.name, without);
    } else {
      symlinkSync(join(from, entry.name), join(to, entry.name));
    }
  }
}
