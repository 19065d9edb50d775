// Every name the package exports says what it is: a doc comment on each export of the entry
// points (`nestjs-redis-session`, `nestjs-redis-session/health`), and on each public member
// of the exported classes and interfaces (methods, properties, accessors, static members;
// protected ones too, they are a subclass's API, as SessionGuard's hooks are; private ones
// are not the surface). Members the package inherits from elsewhere (Nest's forRoot, Error's
// message) are not its to document; a member that inherits a doc comment from a base class
// or an implemented interface of the package is documented.
//
//   node scripts/public-docs.mjs [dist dir]   checks the built .d.ts (npm run build first; exports:check)
//   node scripts/public-docs.mjs --src        checks src/index.ts and src/health/index.ts (docs:check)
//
// Prints each export without a doc comment and exits 1; `undocumented()` is the check itself
// (test/public-docs.int-spec.ts runs it on a fixture).
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = { '.': 'index', './health': 'health/index', './testing': 'testing/index' };

/** The doc comment's text of a symbol (inherited ones included), trimmed; '' without one. */
function docText(checker, symbol) {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

/** Whether every declaration of a symbol sits in a file under `dir`. */
function declaredUnder(dir, symbol) {
  const prefix = `${resolve(dir).replaceAll('\\', '/')}/`;
  const declarations = symbol.declarations ?? [];
  return declarations.length > 0 && declarations.every((d) => d.getSourceFile().fileName.startsWith(prefix));
}

/** Where a symbol is declared, as `file:line` relative to the repository. */
function location(symbol) {
  const declaration = symbol.declarations?.[0];
  if (!declaration) return '?';
  const file = declaration.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(declaration.getStart(file));
  return `${relative(ROOT, file.fileName).replaceAll('\\', '/')}:${line + 1}`;
}

/** Private (`private x`, `#x`) members are not the surface; neither are compiler-made `__` names. */
function isPrivate(symbol) {
  const name = symbol.getName();
  if (name.startsWith('#') || (name.startsWith('__') && !name.startsWith('__@'))) return true;
  return (symbol.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Private);
}

/**
 * The exports of the `entries` (paths of .ts or .d.ts files) that have no doc comment, and
 * the undocumented public members of the exported classes and interfaces, each as
 * `{ entry, name, at }` (`name`: `Export` or `Export.member`, `Export.static member` for a
 * static one; `at`: `file:line`). Only what is declared under `root` (the package's own
 * files; by default the first entry's folder) is looked at.
 */
export function undocumented(entries, root = dirname(entries[0])) {
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    experimentalDecorators: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const seen = new Set();
  const found = [];
  // Once per declaration: a member inherited by two exported classes is reported once.
  const report = (entry, name, symbol) => {
    const key = location(symbol);
    if (seen.has(key)) return;
    seen.add(key);
    found.push({ entry, name, at: location(symbol) });
  };
  const checkMembers = (entry, owner, symbols, label) => {
    for (const member of symbols) {
      if (isPrivate(member) || member.getName() === 'prototype') continue;
      if (!declaredUnder(root, member)) continue;
      if (docText(checker, member) === '') report(entry, `${owner}.${label}${checker.symbolToString(member)}`, member);
    }
  };
  for (const entry of entries) {
    const source = program.getSourceFile(entry);
    if (!source) throw new Error(`${entry} is missing`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (!moduleSymbol) continue; // no exports at all
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = exported.getName();
      if (!declaredUnder(root, symbol)) continue;
      if (docText(checker, symbol) === '') report(entry, name, symbol);
      if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
        checkMembers(entry, name, checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)), '');
      }
      if (symbol.flags & ts.SymbolFlags.Class) {
        checkMembers(entry, name, checker.getPropertiesOfType(checker.getTypeOfSymbol(symbol)), 'static ');
      }
    }
  }
  return found;
}

async function main() {
  const args = process.argv.slice(2);
  const fromSource = args.includes('--src');
  const dir = fromSource ? join(ROOT, 'src') : resolve(args.find((arg) => !arg.startsWith('--')) ?? join(ROOT, 'dist'));
  const entries = Object.values(ENTRIES).map((file) => join(dir, fromSource ? `${file}.ts` : `${file}.d.ts`));
  for (const entry of entries) {
    if (!existsSync(entry)) throw new Error(`${entry} is missing${fromSource ? '' : ': run npm run build first'}`);
  }
  const missing = undocumented(entries, dir);
  if (missing.length === 0) {
    console.log('public docs: every export and public member has a doc comment');
    return;
  }
  console.error(
    `${missing.length} public export(s) or member(s) without a doc comment (/** ... */):\n` +
      missing.map(({ name, at }) => `  ${name}  (${at})`).join('\n') +
      (fromSource ? '' : '\n(--src gives the lines in src/)'),
  );
  process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
