// ESLint flat config: typescript-eslint's strict, type-aware rules over src/ and test/ (typed by
// tsconfig.test.json), the plain JavaScript rules over the bench and scripts .mjs/.cjs files.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**', 'test/golden/**'] },
  eslint.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers in messages are everywhere here (counts, ports, frame numbers, times): `${n}` is what
      // is meant, and String(n) around each would add noise, not safety. Objects, nullish values and
      // the like are still refused.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(r) => out.push(r)`-style callbacks are the house style; a void-returning call in an arrow
      // shorthand is not confusing. Still checked everywhere else.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // tsconfig has noUncheckedIndexedAccess off, so arr[i] and map lookups are typed as always
      // defined, and this rule flags the deliberate bounds checks (reader.ts, filter.ts, tcp-app.ts)
      // as unnecessary: obeying it would remove real guards. Turn it on with noUncheckedIndexedAccess.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // The same convention as tsc's noUnusedLocals: a leading underscore marks a binding kept on
      // purpose (e.g. the rest-destructuring in run-report.ts that drops records, schema, options).
      // Wire fields are plain numbers (pkt.icmpType, a DNS rcode read from the packet) compared with
      // the const enums of decode/enums.ts that name those wire values: a number against a named
      // number is the point of the enums, not a type mix-up.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // header layouts: two fields of one header may start at the same offset (a union on the wire)
    files: ['src/decode/fields.ts', 'src/capture/pcap.ts', 'src/capture/pcapng.ts'],
    rules: { '@typescript-eslint/no-duplicate-enum-values': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', performance: 'readonly' },
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
  },
);
