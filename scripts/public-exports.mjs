// The public surface of the built package, as users see it: every runtime export of each
// entry point (with the static methods of classes and the keys of plain objects) and every
// type-level export of its .d.ts (with the property names of exported interfaces).
//
//   node scripts/public-exports.mjs [dist dir]           prints it as JSON
//   node scripts/public-exports.mjs --write [dist dir]   saves it to test/fixtures/public-exports.json
//   node scripts/public-exports.mjs --check [dist dir]   compares with that file; exit 1 and the differences
//
// A refactor must leave it unchanged; a deliberate API change updates the snapshot with --write
// in the same commit, so the diff shows it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SNAPSHOT = join(ROOT, 'test', 'fixtures', 'public-exports.json');
const ENTRIES = { '.': 'index', './health': 'health/index' };

const args = process.argv.slice(2);
const mode = args.includes('--write') ? 'write' : args.includes('--check') ? 'check' : 'print';
const dist = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(ROOT, 'dist'));

function runtimeExports(module) {
  const out = {};
  for (const name of Object.keys(module).sort()) {
    const value = module[name];
    const entry = { typeof: typeof value };
    if (typeof value === 'function') {
      const statics = Object.getOwnPropertyNames(value).filter((key) => !['length', 'name', 'prototype'].includes(key));
      if (statics.length > 0) entry.statics = statics.sort();
    } else if (value && typeof value === 'object') {
      entry.keys = Object.keys(value).sort();
    }
    out[name] = entry;
  }
  return out;
}

function typeExports(dts) {
  const program = ts.createProgram([dts], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(dts);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const out = {};
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const kinds = [];
    const f = symbol.flags;
    if (f & ts.SymbolFlags.Class) kinds.push('class');
    if (f & ts.SymbolFlags.Interface) kinds.push('interface');
    if (f & ts.SymbolFlags.TypeAlias) kinds.push('type');
    if (f & ts.SymbolFlags.Enum) kinds.push('enum');
    if (f & ts.SymbolFlags.Function) kinds.push('function');
    if (f & ts.SymbolFlags.Variable) kinds.push('variable');
    const entry = { kind: kinds.join('+') || 'other' };
    if (f & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      // Public and protected members (a subclass's API); private ones are not the surface.
      entry.properties = checker
        .getPropertiesOfType(type)
        .flatMap((p) => {
          const flags = (p.declarations ?? []).reduce((all, d) => all | ts.getCombinedModifierFlags(d), 0);
          if (flags & ts.ModifierFlags.Private || p.getName().startsWith('#') || p.getName().startsWith('__')) return [];
          return [flags & ts.ModifierFlags.Protected ? `protected ${p.getName()}` : p.getName()];
        })
        .sort();
    }
    out[exported.getName()] = entry;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

async function surface() {
  const result = {};
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const js = join(dist, `${file}.js`);
    const dts = join(dist, `${file}.d.ts`);
    if (!existsSync(js) || !existsSync(dts)) throw new Error(`${js} or its .d.ts is missing: run npm run build first`);
    result[entry] = { runtime: runtimeExports(await import(pathToFileURL(js).href)), types: typeExports(dts) };
  }
  return result;
}

function differences(before, after, path = '') {
  const out = [];
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of [...keys].sort()) {
    const a = before?.[key];
    const b = after?.[key];
    const here = path ? `${path} › ${key}` : key;
    if (a === undefined) out.push(`+ ${here}: ${JSON.stringify(b)}`);
    else if (b === undefined) out.push(`- ${here}: ${JSON.stringify(a)}`);
    else if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) out.push(...differences(a, b, here));
    else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`~ ${here}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  }
  return out;
}

const current = await surface();
const text = `${JSON.stringify(current, null, 2)}\n`;
if (mode === 'print') process.stdout.write(text);
else if (mode === 'write') {
  writeFileSync(SNAPSHOT, text);
  console.log(`wrote ${SNAPSHOT}`);
} else {
  const diff = differences(JSON.parse(readFileSync(SNAPSHOT, 'utf8')), current);
  if (diff.length > 0) {
    console.error(`The public exports differ from ${SNAPSHOT}:\n${diff.join('\n')}`);
    process.exit(1);
  }
  console.log('public exports: same as the snapshot');
}
