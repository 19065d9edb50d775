// Node module hooks (registered by swc-register.mjs) that run TypeScript from src/ and
// test/ in a plain `node` child process, compiled on the fly with the same swc settings
// as Jest (decorators and their metadata included). A relative `./x.js` import that has
// no .js file resolves to `./x.ts`, as under Jest's moduleNameMapper. node_modules are
// left alone. For test fixtures that must run as a process of their own (to be killed).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const { transformSync } = createRequire(import.meta.url)('@swc/core');

const ours = (url) => typeof url === 'string' && url.startsWith('file:') && !url.includes('/node_modules/');

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (
      err?.code === 'ERR_MODULE_NOT_FOUND' &&
      /^\.{1,2}\//.test(specifier) &&
      specifier.endsWith('.js') &&
      ours(context.parentURL)
    ) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
    throw err;
  }
}

export async function load(url, context, nextLoad) {
  if (!ours(url) || !url.endsWith('.ts')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  });
  return { format: 'module', source: code, shortCircuit: true };
}
