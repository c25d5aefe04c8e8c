/**
 * Migrations are frozen SQL: a migration imports nothing but TypeORM's types (and the list in
 * migrations/index.ts its siblings), so a later change to live code cannot change what an old
 * migration does. Values copied from live code as literals are checked against it here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AUDIT_LOG_GENESIS_HASH } from '../../migrations/1764600000000-audit-log';
import { GENESIS_HASH } from '../../src/audit/chain';

// dist/test/migrations → the repository's migrations/ (the sources: compiled output drops type-only imports)
const MIGRATIONS_DIR = join(__dirname, '..', '..', '..', 'migrations');

/** Module specifiers of every import / export-from / require / dynamic import in a TypeScript source. */
function importsOf(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  return [...source.matchAll(pattern)].map((m) => m[1]!);
}

describe('frozen migrations', () => {
  it('import only typeorm (and index.ts its sibling migrations)', () => {
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 10, `found only ${files.length} migrations in ${MIGRATIONS_DIR}`);
    for (const file of files) {
      const allowed = (spec: string) => spec === 'typeorm' || (file === 'index.ts' && /^\.\/\d{13}-[a-z0-9-]+$/.test(spec));
      const bad = importsOf(readFileSync(join(MIGRATIONS_DIR, file), 'utf8')).filter((spec) => !allowed(spec));
      assert.deepEqual(bad, [], `${file} imports live code`);
    }
  });

  it('seed the audit chain heads with the live genesis hash', () => {
    assert.equal(AUDIT_LOG_GENESIS_HASH, GENESIS_HASH);
  });
});
