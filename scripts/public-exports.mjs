// The public surface of the built package, as users see it: every runtime export of each
// entry point (with the static methods of classes and the keys of plain objects) and every
// type-level export of its .d.ts (with the members of exported interfaces and classes, `?` on
// the optional ones, the static members of classes, the properties of object-shaped type aliases).
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
const ENTRIES = { '.': 'index', './health': 'health/index', './testing': 'testing/index' };

const args = process.argv.slice(2);
const mode = args.includes('--write') ? 'write' : args.includes('--check') ? 'check' : 'print';
const dist = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(ROOT, 'dist'));

/**
 * The static members of a class or function, its own and the inherited ones
 * (`SessionModule.forRoot` comes from Nest's ConfigurableModuleClass), up to the first
 * built-in constructor: Error's statics vary with the Node version and are not ours.
 */
function staticNames(fn) {
  const names = new Set();
  for (let c = fn; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (c !== fn && Function.prototype.toString.call(c).includes('[native code]')) break;
    for (const key of Object.getOwnPropertyNames(c)) {
      if (!['length', 'name', 'prototype', 'caller', 'arguments'].includes(key)) names.add(key);
    }
  }
  return [...names].sort();
}

function runtimeExports(module) {
  const out = {};
  for (const name of Object.keys(module).sort()) {
    const value = module[name];
    const entry = { typeof: typeof value };
    if (typeof value === 'function') {
      const statics = staticNames(value);
      if (statics.length > 0) entry.statics = statics;
    } else if (value && typeof value === 'object') {
      entry.keys = Object.keys(value).sort();
    }
    out[name] = entry;
  }
  return out;
}

/**
 * The public and protected members of a type (protected ones are a subclass's API; private
 * ones are not the surface), `?` marking the optional ones, symbol keys as `[NAME]`.
 */
function members(checker, type, keep = () => true) {
  return checker
    .getPropertiesOfType(type)
    .filter(keep)
    .flatMap((p) => {
      const flags = (p.declarations ?? []).reduce((all, d) => all | ts.getCombinedModifierFlags(d), 0);
      const raw = p.getName();
      if (flags & ts.ModifierFlags.Private || raw.startsWith('#')) return [];
      if (raw.startsWith('__') && !raw.startsWith('__@')) return [];
      const name = raw.startsWith('__@') ? `[${checker.symbolToString(p)}]`.replace(/^\[\[(.*)\]\]$/, '[$1]') : raw;
      const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
      return [`${flags & ts.ModifierFlags.Protected ? 'protected ' : ''}${name}${optional}`];
    })
    .sort();
}

/** Whether a symbol is declared in a file under `dir` (anonymous types: where they are written). */
function declaredIn(dir, symbol) {
  const prefix = `${dir.replaceAll('\\', '/')}/`;
  return (symbol?.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(prefix));
}

/** Whether a member comes from TypeScript's lib files or @types/node only. */
function fromPlatform(program, symbol) {
  const files = (symbol.declarations ?? []).map((d) => d.getSourceFile());
  return (
    files.length > 0 &&
    files.every((f) => program.isSourceFileDefaultLibrary(f) || f.fileName.includes('/node_modules/@types/node/'))
  );
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
      entry.properties = members(checker, checker.getDeclaredTypeOfSymbol(symbol));
    }
    if (f & ts.SymbolFlags.Class) {
      // The constructor's side: static members, inherited ones included (forRoot, forRootAsync).
      // Error's statics (captureStackTrace...) come from lib.d.ts and @types/node, and vary with them.
      const statics = members(checker, checker.getTypeOfSymbol(symbol), (p) => !fromPlatform(program, p)).filter(
        (name) => name !== 'prototype',
      );
      if (statics.length > 0) entry.statics = statics;
    }
    if (f & ts.SymbolFlags.TypeAlias) {
      // Object-shaped aliases: their properties; unions of object shapes: each member's, or the
      // name of a member declared by a dependency (ioredis's RedisOptions: its fields are not ours).
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      const objectLike = (t) => Boolean(t.flags & ts.TypeFlags.Object) || t.isIntersection();
      const shape = (t) => {
        if (!declaredIn(dist, t.aliasSymbol ?? t.getSymbol())) return checker.typeToString(t);
        const props = members(checker, t);
        return props.length === 0 && t.getCallSignatures().length > 0 ? null : props;
      };
      if (type.isUnion() && type.types.every(objectLike)) {
        entry.variants = type.types
          .map(shape)
          .filter(Boolean)
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      } else if (objectLike(type)) {
        const props = shape(type);
        if (props) entry.properties = props;
      }
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
    else if (Array.isArray(a) && Array.isArray(b)) {
      // Lists of names: which ones went, which ones came.
      const was = a.map((x) => JSON.stringify(x));
      const is = b.map((x) => JSON.stringify(x));
      for (const x of was.filter((x) => !is.includes(x))) out.push(`- ${here}: ${x}`);
      for (const x of is.filter((x) => !was.includes(x))) out.push(`+ ${here}: ${x}`);
    } else if (a && b && typeof a === 'object' && typeof b === 'object') out.push(...differences(a, b, here));
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
    console.error(
      `The public exports of ${dist} differ from ${SNAPSHOT}` +
        ` (- only in the snapshot, + only in the build, ~ changed):\n${diff.join('\n')}\n` +
        'A deliberate API change: node scripts/public-exports.mjs --write, and commit the snapshot with it.',
    );
    process.exit(1);
  }
  console.log('public exports: same as the snapshot');
}
