/** Running a command as a person's shell would (the CLI tests' `kiln …` and example scripts), collecting what it prints. */
import { spawn } from 'node:child_process';
import { ROOT } from '../ingestion/ingestion-helpers';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in the repository root with exactly `env`; `input` is written to its stdin, then closed. */
export function runProcess(command: string, args: string[], env: Record<string, string | undefined>, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** A run's exit code and output, for assertion messages. */
export const explain = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
