// Usage: node transpile.mjs <repo root> <package dir>
// Compiles the repo's src/ (not the tests next to it, not the CLI) to <package dir>/dist
// (and the demo's app module to <package dir>/demo)
// with the same swc settings as Jest, copies the Lua scripts and package.json: the
// package as an app would install it, in a second, without the 20 s of a tsc build.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const [root, pkg] = process.argv.slice(2);
const { transformFileSync } = createRequire(join(root, 'package.json'))('@swc/core');
const src = join(root, 'src');
const dist = join(pkg, 'dist');

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(src, 'cli')) yield* files(path);
    } else yield path;
  }
}

for (const file of files(src)) {
  const out = join(dist, relative(src, file));
  mkdirSync(dirname(out), { recursive: true });
  if (file.endsWith('.lua')) {
    copyFileSync(file, out);
  } else if (file.endsWith('.ts') && !file.endsWith('.spec.ts')) {
    const { code } = transformFileSync(file, {
      swcrc: false,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'es6' },
    });
    writeFileSync(out.replace(/\.ts$/, '.js'), code);
  }
}
// The demo's app module, docs and accounts (what with-peers.mjs serves), next to dist/ as
// they sit next to src/ in the repository: their imports of ../src/ become ../dist/.
for (const name of [
  'app.module',
  'demo.controller',
  'docs',
  'health.controller',
  'login-page.controller',
  'login-page.html',
  'metrics.controller',
  'users',
]) {
  const { code } = transformFileSync(join(root, 'demo', `${name}.ts`), {
    swcrc: false,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'es6' },
  });
  mkdirSync(join(pkg, 'demo'), { recursive: true });
  writeFileSync(join(pkg, 'demo', `${name}.js`), code.replaceAll("'../src/", "'../dist/"));
}
copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
