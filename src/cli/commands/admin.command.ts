/** `kiln audit verify` and `kiln keys create|list|revoke`. */
import { Command, Option } from 'commander';
import { contextOf } from '../cli-context';
import { emit, table, when } from '../output';

export function auditCommand(): Command {
  const audit = new Command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('verify the hash chains (and the newest signed checkpoint); exit 1 when a chain is broken')
    .addOption(new Option('--chain <chain>', 'which chain').choices(['predictions', 'events', 'both']).default('both'))
    .option('--from <bound>', 'a seq or an ISO 8601 time (inclusive)')
    .option('--to <bound>', 'a seq or an ISO 8601 time')
    .action(async (o: { chain: string; from?: string; to?: string }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      // without chain the server verifies every chain and reports each under `chains`
      const q = new URLSearchParams({
        ...(o.chain === 'both' ? {} : { chain: o.chain }),
        ...(o.from ? { from: o.from } : {}),
        ...(o.to ? { to: o.to } : {}),
      });
      const answer = await client.get(`/api/audit/verify?${q.toString()}`);
      const reports: Record<string, any> = o.chain === 'both' ? answer.chains : { [o.chain]: answer };
      emit(out, reports, () => {
        for (const [chain, r] of Object.entries(reports)) {
          const checkpoint = r.checkpoint ? `; checkpoint ${r.checkpoint.ok === false ? 'MISMATCH' : 'ok'}` : '';
          process.stdout.write(
            r.ok
              ? `${chain}: ok, ${r.checked} records checked${checkpoint}\n`
              : `${chain}: BROKEN at seq ${r.firstBroken?.seq} (${r.firstBroken?.reason}) after ${r.checked} records${checkpoint}\n`,
          );
        }
      });
      if (Object.values(reports).some((r) => !r.ok || r.checkpoint?.ok === false)) process.exitCode = 1;
    });
  return audit;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('API keys (admin)');
  keys
    .command('create')
    .description('create a key; it is printed once')
    .requiredOption('-n, --name <name>', 'what the key is for')
    .addOption(new Option('-r, --role <role>', 'its role').choices(['admin', 'developer', 'predictor', 'auditor']).makeOptionMandatory())
    .action(async (o: { name: string; role: string }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const created = await client.post('/api/keys', { name: o.name, role: o.role });
      emit(out, created, () =>
        process.stdout.write(`${created.role} key ${created.id} (${created.name}); shown once, keep it now:\n${created.key}\n`),
      );
    });
  keys
    .command('list')
    .description('keys (never their secrets)')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      table(out, await client.get<any[]>('/api/keys'), [
        ['id', (k) => k.id],
        ['name', (k) => k.name],
        ['role', (k) => k.role],
        ['prefix', (k) => k.keyId ?? k.prefix],
        ['revoked', (k) => (k.revokedAt ? when(k.revokedAt) : '-')],
        ['created', (k) => when(k.createdAt)],
      ]);
    });
  keys
    .command('revoke')
    .description('revoke a key at once')
    .argument('<id>', 'key id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const revoked = await client.delete(`/api/keys/${id}`);
      emit(out, revoked ?? { id, revoked: true }, () => process.stdout.write(`key ${id} revoked\n`));
    });
  return keys;
}
