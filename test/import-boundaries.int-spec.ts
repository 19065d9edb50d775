import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The folders of src/ import each other in one direction only (eslint.config.js LAYERS). These
// tests hold both halves: the lint rule refuses an import against the layers, and the imports
// the library has today form no loop between folders.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** The src/ folder a file belongs to (`core`, `http`, ...), or the file itself at the top (`index.ts`). */
const folderOf = (file: string) => relative(SRC, file).split('/')[0];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** folder -> the other folders its files import (relative imports only; type-only imports count too). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), target));
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
    }
  }
  return graph;
}

/** A loop in the graph as a path (first = last), or null. */
function findLoop(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const loop = visit(next);
      if (loop) return loop;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const loop = visit(node);
    if (loop) return loop;
  }
  return null;
}

describe('import boundaries between the folders of src/', () => {
  it('no loop between folders; integrations/ is imported by the module file alone, testing/ by nothing', () => {
    const graph = folderGraph();
    expect(findLoop(graph)).toBeNull();
    const importersOf = (folder: string) => [...graph].filter(([, targets]) => targets.has(folder)).map(([from]) => from);
    expect(importersOf('integrations')).toEqual(['session.module.ts']);
    // nestjs-redis-session/testing is an entry point of its own: the library never loads it.
    expect(importersOf('testing')).toEqual([]);
    // The loop finder itself finds a loop when there is one.
    expect(
      findLoop(
        new Map([
          ['a', new Set(['b'])],
          ['b', new Set(['c'])],
          ['c', new Set(['a'])],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
  });

  it('lint refuses an import against the layers, and allows one along them', async () => {
    // The project's own boundary blocks, with a plain TypeScript parser: the typed rules of the
    // full config would take half a minute to load and have nothing to say about imports.
    const configUrl = pathToFileURL(join(ROOT, 'eslint.config.js')).href;
    const { default: config } = (await import(configUrl)) as { default: Linter.Config[] };
    const blocks = config.filter((block) => block.rules?.['no-restricted-imports'] !== undefined);
    const eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: true,
      overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...blocks],
    });
    const restricted = async (filePath: string, target: string) => {
      const code = `import * as other from '${target}';\nexport const probe = other;\n`;
      const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
      return result.messages.some((message) => message.ruleId === 'no-restricted-imports');
    };
    const refused: Array<[string, string]> = [
      ['src/options/types.ts', '../core/types.js'],
      ['src/core/service.ts', '../http/guard.js'],
      ['src/http/guard.ts', '../auth/session-auth.js'],
      ['src/http/guard.ts', '../integrations/metrics/metrics.js'],
      ['src/auth/controller.ts', '../integrations/metrics/metrics.js'],
      ['src/integrations/metrics/metrics.ts', '../../http/guard.js'],
      ['src/http/contexts/graphql.ts', '../../auth/session-auth.js'],
      ['src/index.ts', './integrations/metrics/metrics.js'],
      ['src/core/service.ts', '../../test/support/redis.js'],
      ['src/index.ts', './testing/index.js'],
      ['src/auth/session-auth.ts', '../testing/sign-in.js'],
      ['src/testing/sign-in.ts', '../integrations/metrics/metrics.js'],
    ];
    for (const [file, target] of refused) expect([file, target, await restricted(file, target)]).toEqual([file, target, true]);
    const allowed: Array<[string, string]> = [
      ['src/core/service.ts', '../options/resolve.js'],
      ['src/auth/controller.ts', '../http/guard.js'],
      ['src/session.module.ts', './integrations/metrics/metrics.js'],
      ['src/testing/sign-in.ts', '../auth/session-auth.js'],
      ['src/testing/guard-stub.ts', '../http/route-rules.js'],
    ];
    for (const [file, target] of allowed) expect([file, target, await restricted(file, target)]).toEqual([file, target, false]);
  });
});
