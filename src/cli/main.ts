/**
 * `kiln`: the command-line client of a Kiln server's HTTP API (bin/kiln.js runs the compiled file).
 * It imports no server code (dependency-cruiser rule `cli-is-an-api-client`): everything it does, a
 * script could do over HTTP. Argument parsing: commander; tables: cli-table3; progress: cli-progress.
 */
import { Command, CommanderError } from 'commander';
import { UsageError } from './cli-context';
import { datasetsCommand } from './commands/datasets.command';
import { driftCommand } from './commands/drift.command';
import { auditCommand, keysCommand } from './commands/admin.command';
import { batchCommand, modelsCommand, predictCommand } from './commands/models.command';
import { jobsCommand, trainCommand } from './commands/training.command';
import { KilnApiError, KilnUnreachableError } from './kiln-client';

export function program(): Command {
  const kiln = new Command('kiln')
    .description('Kiln from the terminal: datasets, training, models, predictions, drift, audit')
    .option('--url <url>', 'Kiln server (env KILN_URL, default http://127.0.0.1:3000)')
    .option('--key <key>', 'API key (env KILN_API_KEY, else ./data/admin.key of a local server)')
    .option('--json', 'print JSON (for scripts) instead of tables')
    .showHelpAfterError()
    .exitOverride();
  for (const c of [
    datasetsCommand(),
    trainCommand(),
    jobsCommand(),
    modelsCommand(),
    predictCommand(),
    batchCommand(),
    driftCommand(),
    auditCommand(),
    keysCommand(),
  ]) {
    kiln.addCommand(c);
  }
  return kiln;
}

/** Runs the CLI; sets the exit code (1 for any failure) instead of throwing. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; a usage mistake was already printed by commander
      process.exitCode = e.exitCode;
      return;
    }
    process.exitCode = 1;
    const fsError = e as NodeJS.ErrnoException;
    if (e instanceof KilnApiError) {
      // field errors are listed one per line; the detail of a validation problem repeats them
      process.stderr.write(`kiln: ${e.errors.length ? `${e.status} ${e.title}` : e.message}\n`);
      for (const f of e.errors) process.stderr.write(`  ${f.field}: ${f.reason}\n`);
    } else if (typeof fsError?.code === 'string' && typeof fsError.path === 'string') {
      process.stderr.write(`kiln: cannot read ${fsError.path}: ${fsError.code === 'ENOENT' ? 'no such file' : fsError.code}\n`);
    } else if (e instanceof KilnUnreachableError || e instanceof UsageError) {
      process.stderr.write(`kiln: ${e.message}\n`);
    } else {
      process.stderr.write(`kiln: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    }
  }
}
