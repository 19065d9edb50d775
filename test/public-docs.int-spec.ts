import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

/*
 * scripts/public-docs.mjs (`npm run docs:check`, and part of `npm run exports:check`): every
 * export of the package, and every public or protected member of its exported classes and
 * interfaces, has a doc comment. Here its check, `undocumented()`, runs on a fixture package
 * written for the test (to show what it reports and what it lets through), then on src/.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Finding {
  entry: string;
  name: string;
  at: string;
}
type Check = (entries: string[], root?: string) => Finding[];

const FIXTURE = {
  'package.json': '{ "type": "module" }\n',
  'index.ts': `
export { documented, undocumented, Widget, Gadget, type Shape, type Unsaid, type Label } from './parts.js';
export type { IncomingMessage } from 'node:http';
`,
  'parts.ts': `
/** Documented. */
export function documented(): void {}

export function undocumented(): void {}

/** A widget. */
export class Widget {
  /** Documented. */
  turn(): void {}
  spin(): void {}
  private secret = 1;
  #hidden = 2;
  /** A documented hook. */
  protected hook(): void {}
  protected bare(): void {}
  static create(): Widget {
    return new Widget();
  }
}

/** A shape. */
export interface Shape {
  /** Documented. */
  sides: number;
  colour?: string;
}

/** Inherits the documentation of Shape's members. */
export class Gadget implements Shape {
  sides = 3;
  /** Its own. */
  colour = 'red';
}

export interface Unsaid {
  /** Documented member of an undocumented interface. */
  x: number;
}

/** A label. */
export type Label = string;
`,
};

describe('scripts/public-docs.mjs: every public export has a doc comment', () => {
  let undocumented: Check;
  let fixture: string;

  beforeAll(async () => {
    ({ undocumented } = (await import(pathToFileURL(join(ROOT, 'scripts', 'public-docs.mjs')).href)) as {
      undocumented: Check;
    });
    fixture = mkdtempSync(join(tmpdir(), 'nrs-public-docs-'));
    for (const [name, text] of Object.entries(FIXTURE)) writeFileSync(join(fixture, name), text);
  });
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('reports each undocumented export and public or protected member, and nothing else', () => {
    const found = undocumented([join(fixture, 'index.ts')]);
    expect(found.map((f) => f.name).sort()).toEqual([
      'Shape.colour',
      'Unsaid',
      'Widget.bare',
      'Widget.spin',
      'Widget.static create',
      'undocumented',
    ]);
    // Where to add the comment: file and line of the declaration.
    expect(found.find((f) => f.name === 'undocumented')?.at).toMatch(/parts\.ts:5$/);
  }, 60_000);

  it('passes a fully documented package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrs-public-docs-ok-'));
    try {
      writeFileSync(join(dir, 'package.json'), FIXTURE['package.json']);
      writeFileSync(join(dir, 'index.ts'), '/** Documented. */\nexport const answer = 42;\n');
      expect(undocumented([join(dir, 'index.ts')])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("finds no undocumented export in the package's sources (src/index.ts, src/health/index.ts)", () => {
    const src = join(ROOT, 'src');
    const found = undocumented([join(src, 'index.ts'), join(src, 'health', 'index.ts')], src);
    expect(found.map((f) => `${f.name} (${f.at})`)).toEqual([]);
  }, 120_000);
});
