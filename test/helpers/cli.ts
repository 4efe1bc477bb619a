/** Runs the real `kairos` binary as a client command and collects its exit code and output. */
import { spawn } from 'node:child_process';
import { BIN, ROOT } from './agent.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kairos(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
  // The ambient environment must not choose the agent or token of a test.
  if (!options.env?.KAIROS_ADDR) delete env.KAIROS_ADDR;
  if (!options.env?.KAIROS_TOKEN) delete env.KAIROS_TOKEN;
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  proc.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Same, asserting the exit code; returns stdout parsed as JSON when `json`. */
export async function kairosOk(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const r = await kairos(args, options);
  if (r.code !== 0) throw new Error(`kairos ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
