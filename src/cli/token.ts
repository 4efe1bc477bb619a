/**
 * `kairos token create|ls|revoke`: manage API tokens straight in the store
 * (the same --data-dir or --backend options as the agent), so the first token
 * can be made before the API demands one. The secret is printed once, alone on
 * stdout, so `TOKEN=$(kairos token create ...)` works; only its hash is stored.
 */
import { Command } from 'commander';
import { userInfo } from 'node:os';
import { backendOptions, ConfigError, resolveConfig } from '../agent/config.js';
import { addAgentOptions, agentFlags } from './agent-options.js';
import { openBackend } from '../backends/open.js';
import { TokenService } from '../auth/token-service.js';
import { KairosError } from '../errors/catalogue.js';
import type { Store } from '../store/types.js';

/** The agent options that say where the store is. */
const STORE_OPTIONS = ['data-dir', 'backend', 'backend-machine', 'keyspace', 'backend-tls-ca', 'backend-tls-cert', 'backend-tls-key', 'backend-username', 'backend-password'];

function withStoreOptions(cmd: Command): Command {
  return addAgentOptions(cmd, 'the agent config file (JSON or YAML) to read the store options from', STORE_OPTIONS);
}

async function withStore<T>(opts: Record<string, unknown>, fn: (tokens: TokenService) => Promise<T>): Promise<T> {
  const config = resolveConfig(agentFlags(opts, STORE_OPTIONS), process.env);
  const store: Store = (await openBackend(config.backend, backendOptions(config))).store;
  try {
    return await fn(new TokenService(store));
  } finally {
    await store.close();
  }
}

function actor(): { name: string; scope: Record<string, string> } {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return { name: `cli:${user}`, scope: {} };
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof KairosError) {
      process.stderr.write(`kairos: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`kairos: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

export function tokenCommand(): Command {
  const token = new Command('token').description('manage API tokens (stored hashed in the cluster store)');

  withStoreOptions(
    token
      .command('create')
      .description('create a token and print its secret once')
      .requiredOption('--name <name>', 'token name (shown in the audit log)')
      .requiredOption('--role <role>', 'read, operate or admin')
      .option('--scope <k=v>', 'limit the token to jobs with this tag (repeatable)', (v: string, prev: string[] = []) => [...prev, v]),
  ).action((opts: Record<string, unknown>) =>
    run(async () => {
      const created = await withStore(opts, (tokens) => tokens.create({ name: opts.name, role: opts.role, scope: opts.scope ?? [] }, actor()));
      const scope = Object.entries(created.scope).map(([k, v]) => `${k}=${v}`).join(',');
      process.stderr.write(`Token "${created.name}" (role ${created.role}${scope ? `, scope ${scope}` : ''}) created. Its secret is shown only now:\n`);
      process.stdout.write(`${created.token}\n`);
    }),
  );

  withStoreOptions(token.command('ls').alias('list').description('list tokens (names, roles, scopes; never secrets)')).action(
    (opts: Record<string, unknown>) =>
      run(async () => {
        const list = await withStore(opts, (tokens) => tokens.list());
        const rows = [['NAME', 'ROLE', 'SCOPE', 'CREATED', 'BY'], ...list.map((t) => [t.name, t.role, Object.entries(t.scope).map(([k, v]) => `${k}=${v}`).join(',') || '-', t.created_at, t.created_by])];
        const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      }),
  );

  withStoreOptions(token.command('revoke').alias('rm').argument('<name>', 'token name').description('revoke a token (effective on every agent within about a second)')).action(
    (name: string, opts: Record<string, unknown>) =>
      run(async () => {
        await withStore(opts, (tokens) => tokens.revoke(name, actor()));
        process.stderr.write(`Token "${name}" revoked.\n`);
      }),
  );
  return token;
}
