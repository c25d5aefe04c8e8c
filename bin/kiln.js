#!/usr/bin/env node
// The `kiln` command (package.json "bin"): runs the compiled CLI in dist/, which `npm run build` makes.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`kiln: the CLI is not built yet; run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
require(main)
  .runCli(process.argv)
  .catch((e) => {
    process.stderr.write(`kiln: ${e && e.stack ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
