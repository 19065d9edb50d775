// ESLint flat config. Formatting is Prettier's job (.prettierrc.json); eslint-config-prettier,
// last below, turns off every rule that would fight it. `npm run lint` runs both.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ts = ['**/*.ts', '**/*.mts', '**/*.cts'];

// Import boundaries between the folders of src/ (core no-restricted-imports; patterns are
// gitignore-style and matched against the import string, so '**/http/**' catches
// '../http/guard.js' and '../../http/x.js'). Each folder may import the folders listed for it and
// nothing else: the layers below form a DAG, so no folder-level import loop can come back.
//   options  <  core  <  http  <  auth  <  session.module*.ts, index.ts
//   integrations, health, cli: core and options only; integrations (the optional peers behind
//   the core's ports) is imported by session.module.ts alone.
//   testing (nestjs-redis-session/testing, the app's test helpers): auth, http, core, options;
//   nothing imports it.
const LAYERS = {
  options: [],
  core: ['options'],
  http: ['core', 'options'],
  auth: ['http', 'core', 'options'],
  integrations: ['core', 'options'],
  health: ['core', 'options'],
  cli: ['core', 'options'],
  testing: ['auth', 'http', 'core', 'options'],
};
const FOLDERS = Object.keys(LAYERS);
const noDemo = { group: ['**/demo/**'], message: 'The library (src/) must not import the demo app (demo/).' };
const noTest = { group: ['**/test/**'], message: 'The library (src/) must not import test code (test/).' };
const only = (where, allowed) => ({
  group: FOLDERS.filter((folder) => !allowed.includes(folder)).map((folder) => `**/${folder}/**`),
  message:
    `${where} may import only ${allowed.length > 0 ? allowed.map((f) => `src/${f}`).join(', ') : 'no other src/ folder'} ` +
    '(eslint.config.js LAYERS): move the shared piece down, or reach it through a port the module binds.',
});
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const boundaries = [
  ...Object.entries(LAYERS).map(([folder, allowed]) => ({
    files: [`src/${folder}/**`],
    rules: restrict(noDemo, noTest, only(`src/${folder}`, allowed)),
  })),
  { files: ['src/index.ts'], rules: restrict(noDemo, noTest, only('src/index.ts', ['options', 'core', 'http', 'auth'])) },
  {
    files: ['src/session.module.ts', 'src/session.module-definition.ts'],
    rules: restrict(noDemo, noTest, only('The module', ['options', 'core', 'http', 'auth', 'integrations'])),
  },
];

export default defineConfig(
  globalIgnores(['dist/', 'dist-bench/', 'dist-demo/', 'coverage/', 'bench/results/', '.redis-tmp/', 'docs/']),

  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: { ...globals.node } },
  },
  js.configs.recommended,

  // TypeScript: typescript-eslint's recommended rules with type information from tsconfig.json
  // (which includes src, test, bench, scripts and demo).
  {
    files: ts,
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed parameters, variables and caught errors are deliberately unused.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  // Off for this codebase:
  {
    files: ts,
    rules: {
      // Async functions that fulfil a Promise-returning contract without awaiting
      // (validateCredentials, ping, onApplicationShutdown) are intended.
      '@typescript-eslint/require-await': 'off',
      // `throw this.unavailable(err)` with a helper typed `never` is the idiom in the store.
      '@typescript-eslint/only-throw-error': 'off',
      // Flags the `!` on indexed access (groups[6]!, halves[0]!) that documents "present here";
      // harmless, and needed if noUncheckedIndexedAccess is ever turned on.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // err.getStatus() === HttpStatus.X is the Nest idiom.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
  // Tests and the benchmark read untyped JSON (supertest's res.body, app.getHttpServer()):
  // the no-unsafe-* family would flag nearly every assertion.
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // expect(obj.method) and handing a closure-based stop() around are fine in tests.
      '@typescript-eslint/unbound-method': 'off',
    },
  },

  // Import boundaries inside the library (LAYERS above).
  ...boundaries,

  prettier,
);
