/** What every command needs: the API client (KILN_URL / KILN_API_KEY or --url / --key) and the output mode. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnClient } from './kiln-client';
import type { Output } from './output';

export interface GlobalOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

export interface CliContext {
  client: KilnClient;
  out: Output;
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/**
 * The API key: --key, else KILN_API_KEY, else the admin key a local `npm start` saved
 * (`$KILN_DATA_DIR/admin.key`, default `./data/admin.key`), so commands work on a fresh clone as is.
 */
function apiKey(options: GlobalOptions): string | undefined {
  if (options.key) return options.key;
  if (process.env.KILN_API_KEY) return process.env.KILN_API_KEY;
  const file = join(resolve(process.env.KILN_DATA_DIR ?? 'data'), 'admin.key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

export function contextOf(command: Command): CliContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const url = options.url ?? process.env.KILN_URL ?? DEFAULT_URL;
  return { client: new KilnClient({ url, key: apiKey(options) }), out: { json: options.json === true } };
}

/** The dataset a name or id refers to (404-style error naming it when there is none). */
export async function findDataset(client: KilnClient, ref: string): Promise<any> {
  const datasets = await client.get<any[]>('/api/datasets');
  const found = datasets.find((d) => d.id === ref || d.name === ref);
  if (!found) throw new UsageError(`dataset '${ref}' not found (kiln datasets list shows them)`);
  return found;
}

/** A mistake in how the CLI was called, or a reference that names nothing: printed without a stack, exit 1. */
export class UsageError extends Error {}

/** An integer option, or a UsageError naming it. */
export function intOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`${name}: must be an integer, got '${value}'`);
    return n;
  };
}

/** A number option, or a UsageError naming it. */
export function numberOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name}: must be a number, got '${value}'`);
    return n;
  };
}
