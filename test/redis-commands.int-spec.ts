import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

/*
 * Every Redis command the library sends is sent from a file whose header doc (the comment the
 * file opens with) names it, case-insensitive: someone looking for where GETEX or WAIT is sent,
 * or what an ACL rule must allow, reads the headers. The calls are found with the type checker,
 * so `map.get(...)` is not a GET: a call counts when the method is one of ioredis's (or a Lua
 * script's, core/redis/scripts.ts). The lists below are explicit; a command method not in them
 * fails the test until it is added. Also: each Lua script's signature doc in scripts.ts names
 * the commands its script calls. No Redis needed.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const SCRIPTS_TS = join(SRC, 'core', 'redis', 'scripts.ts');
const LUA_DIR = join(SRC, 'core', 'redis', 'lua');

/** ioredis methods that send one command, and that command. */
const COMMAND_METHODS: Readonly<Record<string, string>> = {
  getex: 'GETEX',
  get: 'GET',
  set: 'SET',
  getdel: 'GETDEL',
  del: 'DEL',
  exists: 'EXISTS',
  pttl: 'PTTL',
  zrange: 'ZRANGE',
  zrem: 'ZREM',
  zscore: 'ZSCORE',
  wait: 'WAIT',
  ping: 'PING',
  quit: 'QUIT',
  config: 'CONFIG',
  scan: 'SCAN',
  info: 'INFO',
  memory: 'MEMORY',
  publish: 'PUBLISH',
  subscribe: 'SUBSCRIBE',
  psubscribe: 'PSUBSCRIBE',
  ssubscribe: 'SSUBSCRIBE',
  spublish: 'SPUBLISH',
  evalsha: 'EVALSHA',
  eval: 'EVAL',
};
/** ioredis methods that send the command their first argument names (`call('GET', key)`). */
const GENERIC_METHODS = ['call', 'callBuffer', 'sendCommand'];
/** ioredis methods that batch commands given as `[name, ...args]` arrays (`pipeline([['pttl', key]])`). */
const BATCH_METHODS = ['pipeline', 'multi'];
/** ioredis methods that send what was batched (the batch's commands are counted where they are added). */
const BATCH_SENDERS = ['exec'];
/** The Lua scripts' methods (core/redis/scripts.ts), named by their method. */
const SCRIPT_METHODS = ['nrsIndexAdd', 'nrsIndexPage', 'nrsPeek', 'nrsThrottle', 'nrsUpdate'];

interface Problem {
  file: string;
  line: number;
  problem: string;
}

/** The library's source files (specs are not shipped). */
function sourceFiles(dir = SRC): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** The doc comment a file opens with (after a shebang), or null. */
function headerDoc(text: string): string | null {
  const body = text.replace(/^#![^\n]*\n/, '').trimStart();
  if (!body.startsWith('/**')) return null;
  const end = body.indexOf('*/');
  return end === -1 ? null : body.slice(0, end + 2);
}

/** Whether `doc` names `command` as a word, any case. */
function names(doc: string, command: string): boolean {
  const escaped = command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}([^A-Za-z0-9_]|$)`, 'i').test(doc);
}

/** A program over `files`, with `virtual` files (path -> text) served from memory. */
function createProgram(files: string[], virtual: Record<string, string> = {}): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => name in virtual || fileExists.call(host, name);
  host.readFile = (name) => (name in virtual ? virtual[name] : readFile.call(host, name));
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) =>
    name in virtual
      ? ts.createSourceFile(name, virtual[name], languageVersion, true)
      : getSourceFile.call(host, name, languageVersion, onError, shouldCreate);
  return ts.createProgram([...files, ...Object.keys(virtual)], options, host);
}

const inIoredis = (file: string) => file.split(sep).join('/').includes('/node_modules/ioredis/');
const isCommandDeclaration = (file: string) => file.split(sep).join('/').endsWith('/ioredis/built/utils/RedisCommander.d.ts');

/** The Redis commands `file` sends, with their lines; what cannot be told is a problem. */
function commandsSent(
  program: ts.Program,
  file: string,
): { sent: Array<{ command: string; line: number }>; problems: Problem[] } {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`not in the program: ${file}`);
  const sent: Array<{ command: string; line: number }> = [];
  const problems: Problem[] = [];
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const where = relative(ROOT, file);

  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const declarations = checker.getSymbolAtLocation(node.expression.name)?.declarations ?? [];
      const files = declarations.map((declaration) => declaration.getSourceFile().fileName);
      const line = lineOf(node);
      const first = node.arguments[0];
      if (files.some((f) => resolve(f) === SCRIPTS_TS) && method.startsWith('nrs')) {
        if (SCRIPT_METHODS.includes(method)) sent.push({ command: method, line });
        else problems.push({ file: where, line, problem: `script method ${method} is not in this test's SCRIPT_METHODS` });
      } else if (files.some(inIoredis)) {
        if (method in COMMAND_METHODS) sent.push({ command: COMMAND_METHODS[method], line });
        else if (GENERIC_METHODS.includes(method)) {
          const name = first && ts.isStringLiteralLike(first) ? first.text : undefined;
          if (name) sent.push({ command: name.toUpperCase(), line });
          else problems.push({ file: where, line, problem: `${method}() with a command name that is not a string literal` });
        } else if (BATCH_METHODS.includes(method)) {
          const heads = (n: ts.Node): void => {
            if (ts.isArrayLiteralExpression(n) && n.elements[0] && ts.isStringLiteralLike(n.elements[0])) {
              sent.push({ command: n.elements[0].text.toUpperCase(), line: lineOf(n) });
            }
            ts.forEachChild(n, heads);
          };
          node.arguments.forEach(heads);
        } else if (!BATCH_SENDERS.includes(method) && files.some(isCommandDeclaration)) {
          problems.push({
            file: where,
            line,
            problem: `ioredis command method ${method}() is not in this test's COMMAND_METHODS`,
          });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { sent, problems };
}

/** What is wrong with `files`: commands sent but not named in their file's header doc, and what cannot be told. */
function problemsOf(program: ts.Program, files: string[]): Problem[] {
  const problems: Problem[] = [];
  for (const file of files) {
    const { sent, problems: own } = commandsSent(program, file);
    problems.push(...own);
    if (sent.length === 0) continue;
    const doc = headerDoc(program.getSourceFile(file)!.text);
    const where = relative(ROOT, file);
    if (doc === null) {
      problems.push({ file: where, line: 1, problem: `sends ${sent[0].command} but opens with no doc comment` });
      continue;
    }
    const missing = new Map<string, number>();
    for (const { command, line } of sent) if (!names(doc, command) && !missing.has(command)) missing.set(command, line);
    for (const [command, line] of missing)
      problems.push({ file: where, line, problem: `sends ${command}; its header doc does not name it` });
  }
  return problems;
}

const format = (problems: Problem[]) => problems.map((p) => `${p.file}:${p.line}: ${p.problem}`);

describe('every Redis command is sent from a file whose header doc names it', () => {
  const files = sourceFiles();
  const fixture = (name: string) => join(SRC, '__redis-commands-fixture__', name);
  const fixtures: Record<string, string> = {
    // Names GET only; sends SET and HELLO too. Map#get and Function#call are no Redis commands.
    [fixture('some-unnamed.ts')]: [
      '/** A fixture: sends GET. */',
      "import type { Redis } from 'ioredis';",
      'export async function f(client: Redis): Promise<void> {',
      "  await client.get('k');",
      "  await client.set('k', 'v');",
      "  await client.call('HELLO', '3');",
      "  new Map<string, string>().get('k');",
      '  Math.max.call(null, 1);',
      '}',
    ].join('\n'),
    // The doc after the imports is not a header doc.
    [fixture('no-header.ts')]: [
      "import type { Cluster } from 'ioredis';",
      '/** Sends PING. */',
      'export const f = (client: Cluster) => client.ping();',
    ].join('\n'),
    // A batch, a script method, and a command method missing from the test's list.
    [fixture('batch.ts')]: [
      '/** A fixture: sends nrsPeek. */',
      "import type { SessionRedisClient } from '../core/redis/scripts.js';",
      'export async function f(client: SessionRedisClient, keys: string[]): Promise<void> {',
      "  await client.pipeline(keys.map((key) => ['pttl', key])).exec();",
      "  await client.nrsPeek('k');",
      "  await client.hset('h', 'f', 'v');",
      '}',
    ].join('\n'),
    // Everything it sends is named, in any case, after a shebang; a generic type parameter is seen through.
    [fixture('all-named.ts')]: [
      '#!/usr/bin/env node',
      '/** A fixture: Getex, then subscribe. */',
      "import type { Cluster, Redis } from 'ioredis';",
      'export async function f<C extends Redis | Cluster>(client: C): Promise<void> {',
      "  await client.getex('k', 'PX', 1000);",
      "  await client.subscribe('c');",
      '}',
    ].join('\n'),
  };
  const program = createProgram(files, fixtures);

  it('finds what is wrong in fixtures, so it can fail', () => {
    const found = format(problemsOf(program, Object.keys(fixtures))).map((line) =>
      line.replace('src/__redis-commands-fixture__/', ''),
    );
    expect(found.sort()).toEqual(
      [
        'some-unnamed.ts:5: sends SET; its header doc does not name it',
        'some-unnamed.ts:6: sends HELLO; its header doc does not name it',
        'no-header.ts:1: sends PING but opens with no doc comment',
        'batch.ts:4: sends PTTL; its header doc does not name it',
        "batch.ts:6: ioredis command method hset() is not in this test's COMMAND_METHODS",
      ].sort(),
    );
  });

  it('holds for every file under src/', () => {
    expect(format(problemsOf(program, files))).toEqual([]);
  });

  it('sees the commands the library is known to send (the check is not blind)', () => {
    const sentBy = (path: string) => [...new Set(commandsSent(program, join(SRC, path)).sent.map((s) => s.command))].sort();
    const expected: Record<string, string[]> = {
      'core/store.ts': ['GETEX', 'SET', 'DEL', 'ZSCORE', 'ZRANGE', 'ZREM', 'nrsPeek', 'nrsUpdate', 'nrsIndexAdd', 'nrsThrottle'],
      'core/store-bulk.ts': ['EXISTS', 'DEL', 'ZRANGE', 'ZREM'],
      'core/store-follow.ts': ['GETEX', 'GET', 'GETDEL', 'DEL', 'ZREM'],
      'core/cache/tracking-connection.ts': ['CLIENT', 'ROLE', 'SUBSCRIBE', 'PING'],
      'core/cache/invalidations.ts': ['ROLE'],
      'core/store-index.ts': ['nrsIndexPage', 'GET', 'PTTL', 'ZREM'],
      'core/live.ts': ['PUBLISH'],
      'core/redis/subscriber.ts': ['SUBSCRIBE'],
      'core/redis/connection.ts': ['WAIT', 'PING', 'PTTL', 'QUIT'],
      'integrations/events/expiry-subscriber.ts': ['CONFIG'],
      'cli/stats.ts': ['SCAN', 'PTTL', 'MEMORY', 'INFO'],
      'cli/main.ts': ['QUIT'],
    };
    for (const [path, commands] of Object.entries(expected)) expect([path, sentBy(path)]).toEqual([path, [...commands].sort()]);
  });

  it("names, in each Lua script's signature doc (core/redis/scripts.ts), the commands the script calls", () => {
    const scripts = readFileSync(SCRIPTS_TS, 'utf8');
    const problems: string[] = [];
    const luaFiles = readdirSync(LUA_DIR).filter((name) => name.endsWith('.lua'));
    expect(luaFiles.length).toBeGreaterThan(0);
    for (const name of luaFiles) {
      const base = /^([a-z]+(?:-[a-z]+)*)-\d+\.lua$/.exec(name)?.[1];
      if (!base) {
        problems.push(`${name}: not named <command>-<keys>.lua`);
        continue;
      }
      const method = `nrs${base.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;
      if (!SCRIPT_METHODS.includes(method)) problems.push(`${name}: ${method} is not in this test's SCRIPT_METHODS`);
      const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${method}\\(`).exec(scripts)?.[1];
      if (doc === undefined) {
        problems.push(`${name}: scripts.ts has no documented signature ${method}(`);
        continue;
      }
      const lua = readFileSync(join(LUA_DIR, name), 'utf8');
      const commands = new Set([...lua.matchAll(/redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g)].map((m) => m[1].toUpperCase()));
      for (const command of commands)
        if (!names(doc, command)) problems.push(`${name}: the doc of ${method} does not name ${command}`);
    }
    expect(problems).toEqual([]);
  });
});
