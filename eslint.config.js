// ESLint flat config. Formatting is Prettier's job (.prettierrc.json); eslint-config-prettier,
// last below, turns off every rule that would fight it. `npm run lint` runs both.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ts = ['**/*.ts', '**/*.mts', '**/*.cts'];

// Import boundaries (core no-restricted-imports; patterns are gitignore-style and matched against
// the import string, so '**/http/**' catches '../http/guard.js' and '../../http/x.js').
// For a given file the last matching block's options win (they are not merged), so every
// block repeats the restrictions of the blocks before it.
const noDemo = { group: ['**/demo/**'], message: 'The library (src/) must not import the demo app (demo/).' };
const noTest = { group: ['**/test/**'], message: 'The library (src/) must not import test code (test/).' };
const lowerLayer = (layer) => ({
  group: ['**/http/**', '**/auth/**', '**/integrations/**'],
  message: `src/${layer} sits below http, auth and integrations and must not import them (move the shared piece down, or inject it).`,
});
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

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

  // Import boundaries inside the library.
  { files: ['src/**'], rules: restrict(noDemo, noTest) },
  { files: ['src/core/**'], rules: restrict(noDemo, noTest, lowerLayer('core')) },
  { files: ['src/options/**'], rules: restrict(noDemo, noTest, lowerLayer('options')) },

  prettier,
);
