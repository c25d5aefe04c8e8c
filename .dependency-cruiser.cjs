// dependency-cruiser rules: the boundaries of docs' Layout section, checked by `npm run lint:deps`.
// Pinned to dependency-cruiser 17: version 18 needs Node 22, and Kiln supports Node 20.19+ (package.json
// "engines"; package.json takes no comments, so the reason lives here).
// A domain is one of the five folders below; `platform`, `contracts` and `ml` are kernels every domain may use.
const DOMAINS = '(ingestion|training|models|inference|audit)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-through-index',
      comment:
        'A domain imports another domain only through its index.ts (its public facade) or through src/contracts; ' +
        'export what you need from that index.ts instead of reaching into the folder.',
      severity: 'error',
      from: { path: `^src/${DOMAINS}/` },
      to: { path: `^src/${DOMAINS}/`, pathNot: ['^src/$1/', `^src/${DOMAINS}/index\\.ts$`] },
    },
    {
      name: 'root-through-index',
      comment: 'The composition root (src/*.ts) and the apps/ entries wire domains through their index.ts too.',
      severity: 'error',
      from: { path: '^(src/[^/]+\\.ts$|apps/)' },
      to: { path: `^src/${DOMAINS}/`, pathNot: `^src/${DOMAINS}/index\\.ts$` },
    },
    {
      name: 'kernel-imports-no-domain',
      comment:
        'src/platform, src/contracts, src/ml and migrations/ sit below the domains: they import no domain and not the ' +
        'composition root (src/app.module.ts, src/bootstrap.ts, src/main.ts). Migrations are frozen: no live code either.',
      severity: 'error',
      from: { path: '^(src/(platform|contracts|ml)|migrations)/' },
      to: { path: `^src/(${DOMAINS}/|app\\.module\\.ts$|bootstrap\\.ts$|main\\.ts$)` },
    },
    {
      name: 'cli-is-an-api-client',
      comment:
        'src/cli is a client of the HTTP API only (what it does, any script could do over HTTP): it imports nothing else ' +
        'from src/, and nothing in src/ imports it.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/cli/' },
    },
    {
      name: 'nothing-imports-the-cli',
      comment: 'The server, the apps and the benchmarks do not import the CLI (tests run it as a child process).',
      severity: 'error',
      from: { path: '^(src|apps|bench|migrations)/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'ml-is-framework-free',
      comment: 'src/ml is the framework-free ML kernel: no NestJS, no TypeORM (it must run in a bare worker thread).',
      severity: 'error',
      from: { path: '^src/ml/' },
      to: { path: '(^|/)node_modules/(@nestjs/|typeorm/)' },
    },
    {
      name: 'production-imports-no-test',
      comment: 'Test fixtures live in test/support; production code (src/, apps/, migrations/) never imports test/ (unit specs may).',
      severity: 'error',
      from: { path: '^(src|apps|migrations)/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles: split the shared part into its own file, or pass it in.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to no file: a missing package or a wrong path.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-orphans',
      comment: 'A file nothing imports and that imports nothing is dead code (entry points and configs excepted).',
      severity: 'error',
      from: { orphan: true, pathNot: ['(^|/)\\.[^/]+\\.(c|m)?js$', '\\.d\\.ts$', '^scripts/', 'eslint\\.config\\.mjs$'] },
      to: {},
    },
    {
      name: 'not-to-dev-dep',
      comment: 'Production code (src/, apps/, migrations/) must not import a devDependency: `npm ci --omit=dev` would break it.',
      severity: 'error',
      from: { path: '^(src|apps|migrations)/', pathNot: '\\.spec\\.ts$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|data|coverage|bench/results)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Count `import type` too: a type-only import still ties one folder to another's internals.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
