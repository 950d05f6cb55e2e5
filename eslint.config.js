// Typed lint rules that catch real faults: floating and misused promises, and the layer boundaries.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'dist-check/**', 'node_modules/**', 'test/e2e/node_modules/**', 'eslint.config.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'test', 'it', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    // Plain JavaScript (fake CLIs, scripts): outside the TypeScript project, so no type-aware rules.
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  {
    // The dashboard's browser modules, shipped as they are.
    files: ['src/dashboard/static/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        navigator: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        Blob: 'readonly',
        Node: 'readonly',
        TextDecoderStream: 'readonly',
        AbortController: 'readonly',
        crypto: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: { 'no-console': 'error' },
  },
  {
    // agents/ and runner/ know nothing of HTTP, A2A or storage.
    files: ['src/agents/**', 'src/runner/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/transport/**', '**/stores/**', '**/service/**', '@a2a-js/sdk*', 'express'] },
      ],
    },
  },
  {
    // The task run is protocol-free: a worker node runs it with a job and the ports, no HTTP or A2A in sight.
    files: ['src/run/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/transport/**',
            '@a2a-js/sdk*',
            'express',
            '**/service/a2a.js',
            '**/service/executor.js',
            '**/service/input-required.js',
            '**/service/run-to-a2a.js',
          ],
        },
      ],
    },
  },
  {
    // The client commands load none of the server stack (and serve none of the client's): each starts fast.
    files: ['src/cli/client/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/main.js',
            '**/server-commands.js',
            '**/transport/**',
            '**/service/**',
            '**/stores/**',
            '**/agents/**',
            '**/runner/**',
            '**/config/**',
            '**/workspace/**',
            '**/observability/**',
            '@a2a-js/sdk/server*',
            'express',
          ],
        },
      ],
    },
  },
  {
    files: ['src/**'],
    ignores: ['src/transport/**', 'src/main.ts', 'src/cli/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/transport/**'] }] },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
