// ESLint flat config: typescript-eslint's recommended-type-checked rules, with type information from
// tsconfig.json through the project service. What it is here for: promises nobody awaits (a lost
// rejection crashes the process or silently drops work) and switches that miss a member of a union.
// Rules switched off below are listed with the reason; each would need tens to hundreds of edits that
// change no behaviour. Turn one back on in its own change, with `--fix` where the rule has one.
// No --cache in `npm run lint`: ESLint's cache keys on each file's own content, but type-aware results also
// depend on the files it imports (a callee turning async creates a floating promise in an unchanged caller).
import eslint from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'bench/results/', 'data/', 'coverage/', '.build/', 'test-artifacts/']),
  {
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test's describe/it return promises that the runner itself tracks: not awaiting them is the idiom.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      // A `default` that handles (usually: throws on) the rest counts as exhaustive: the job dispatch switches
      // compare a queue's job name against the whole JobName union on purpose.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // `import x = require('cjs-only-package')` is TypeScript's import syntax for CommonJS packages.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true }],

      // Off: ~2,000 hits, nearly all in tests reading `res.body` (any from HTTP clients and JSON.parse);
      // narrowing every read adds casts, not checks. Request input is validated at runtime (class-validator, zod).
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Off: BullMQ types job.name as string; the processors compare it with the JobName enum by design.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Off: ~370 hits, mostly `xs[i]!` — the `!` marks a spot that may be undefined (noUncheckedIndexedAccess is
      // not on), so removing them loses information the day that option is switched on.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Off: async callbacks that implement Promise-returning interfaces (tf.io handlers, onProgress) need no await.
      '@typescript-eslint/require-await': 'off',
      // Off: flags static factories passed to map (`Dto.from`) and destructured arrow-function properties; the
      // types cannot tell those apart from methods that use `this`.
      '@typescript-eslint/unbound-method': 'off',
      // Off: tsc's noUnusedLocals already fails the build; this one also flags `_`-named rest-sibling discards.
      '@typescript-eslint/no-unused-vars': 'off',
      // Off: messages and SQL are built from numbers, unknown values and SQL fragment objects with toString();
      // the worst case is a cosmetic "[object Object]", while the rule asks for a String() at each of them.
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // Off: TF.js declares its metadata maps as `{ [key: string]: {} }`; casts have to name that type.
      '@typescript-eslint/no-empty-object-type': 'off',
      // Off: every hit rethrows a caught value kept for later (`let failure: unknown`, then `if (failure) throw
      // failure`); narrowing turns unknown into `{}`, which these rules then reject.
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // Off: flags defensive initialisers before try blocks (`let ok = false; try { ok = await … }`).
      'no-useless-assignment': 'off',
    },
  },
  {
    // Lines ≤ 140, prettier's printWidth: prettier never splits string literals or comments, so without this a long
    // message or comment passes `prettier --check`. Core `max-len` is deprecated since ESLint 8.53 (formatting rules
    // left core; it is still shipped in ESLint 10, to be removed in 11): its replacement is `@stylistic/max-len` from
    // @stylistic/eslint-plugin, with the same options. Exempt: lines holding a URL or a regex literal (neither can be
    // split without changing it). No ignorePattern; the one other exception (the monitoring page's browser script, a
    // template literal served as written) is an eslint-disable block in that file.
    files: ['**/*.ts', '**/*.mjs', '**/*.cjs', '**/*.js'],
    rules: { 'max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true }] },
  },
  {
    // Optional TF.js backends (tfjs-node, wasm) are probed with require() at start-up: a missing one is not an error.
    files: ['**/tf-runtime.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests and benchmarks read untyped HTTP bodies and fixtures; `any` there is honest.
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.spec.ts', '**/*.e2e-spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The CLI (src/cli) prints the server's JSON answers: it reads a few fields by name for tables and passes the rest
    // through as is (`--json`), like the tests reading `res.body`. Typing every answer would duplicate the API's DTOs,
    // which it must not import (dependency-cruiser: cli-is-an-api-client).
    files: ['src/cli/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The web console (console/, its own tsconfig with the DOM) shows the server's JSON answers, for the same reason
    // as the CLI; its .tsx views get the type-checked rules too.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    extends: [eslint.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // The `kiln` bin shim (CommonJS, run by node directly).
    files: ['bin/**/*.js'],
    languageOptions: { globals: { __dirname: 'readonly' } },
  },
  {
    // Plain JavaScript (scripts/*.mjs, this file, .dependency-cruiser.cjs): no type information.
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    extends: [eslint.configs.recommended],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
);
