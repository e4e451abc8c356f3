import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'test/histories/**', 'cli/rotor.cjs', 'cli/bundle-loader.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { typescript: true, node: true } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Dependencies point one way: core ← adapters ← inspect / activities ← workflows, workers, cli.
    files: ['core/**', 'adapters/**', 'inspect/**', 'activities/**', 'workflows/**', 'workers/**', 'cli/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            {
              target: './core',
              from: ['./adapters', './inspect', './activities', './workflows', './workers', './cli', './dev', './test'],
              message: 'core/ is pure and imports nothing of the others.',
            },
            {
              target: './adapters',
              from: ['./inspect', './activities', './workflows', './workers', './cli', './dev', './test'],
              message: 'adapters/ do I/O for the others and depend on core/ only.',
            },
            {
              target: './inspect',
              from: ['./activities', './workflows', './workers', './cli', './dev', './test'],
              message: 'inspect/ is read-only and shared by the CLI and the worker; it uses core/ and adapters/.',
            },
            {
              target: './activities',
              from: ['./inspect', './workflows', './workers', './cli', './dev', './test'],
              message: 'activities/ are built over core/ and adapters/.',
            },
            {
              target: './workflows',
              from: ['./adapters', './inspect', './workers', './cli', './dev', './test'],
              message: 'workflows/ import core/ and activity types only.',
            },
            {
              target: './workers',
              from: ['./cli', './dev', './test'],
              message: 'workers/ and cli/ do not import each other.',
            },
            {
              target: './cli',
              from: ['./workers', './dev', './test'],
              message: 'workers/ and cli/ do not import each other.',
            },
          ],
        },
      ],
    },
  },
  {
    // The tooling and the tests point one way too: tests and benchmarks (test/) use the local stack
    // (dev/), never the other way; shared test and bench helpers live in test/helpers alone.
    files: ['dev/**', 'test/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            {
              target: './dev',
              from: ['./test'],
              message: 'dev/ (the local stack, the test runner) does not import tests or their helpers.',
            },
            {
              target: './test/helpers',
              from: ['./test/integration', './test/workflow', './test/replay', './test/bench'],
              message: 'test/helpers/ is shared by tests and benchmarks and imports none of them.',
            },
            {
              target: './test/integration',
              from: ['./test/bench', './test/workflow'],
              message: 'test files share code through test/helpers/ only.',
            },
            {
              target: './test/workflow',
              from: ['./test/bench', './test/integration'],
              message: 'test files share code through test/helpers/ only.',
            },
            {
              target: './test/bench',
              from: ['./test/integration', './test/workflow'],
              message: 'benchmarks share code with tests through test/helpers/ only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code is replayed deterministically in a sandbox: no Node built-ins, no I/O.
    files: ['workflows/**/*.ts', 'core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'workflows/ and core/ must stay deterministic: do I/O in adapters/.',
          })),
          patterns: [
            {
              group: ['**/activities/**', '**/activities'],
              allowTypeImports: true,
              message: 'workflows import activity types only; activities run on the worker.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
