/** `kairos members`, `kairos leader`, `kairos status`, `kairos plugins`: the cluster as an agent sees it. */
import { Command } from 'commander';
import type { Member, PluginListing } from '../client/api.js';
import { EXIT } from '../client/http.js';
import { clientOf, formatOf, print, run, withClientOptions, withOutput, type Column } from './output.js';

const MEMBER_COLUMNS: Column<Member>[] = [
  { header: 'NAME', value: (m) => m.Name },
  { header: 'ADDRESS', value: (m) => (m.Addr ? `${m.Addr}:${m.Port ?? ''}` : '') },
  { header: 'STATUS', value: (m) => m.statusText ?? m.Status },
  { header: 'SERVER', value: (m) => m.server },
  { header: 'RUNNING', value: (m) => m.running },
  { header: 'VERSION', value: (m) => m.version, wide: true },
  { header: 'LOAD', value: (m) => m.load, wide: true },
  { header: 'TAGS', value: (m) => m.Tags, wide: true },
];

const PLUGIN_COLUMNS: Column<PluginListing>[] = [
  { header: 'NAME', value: (p) => p.name },
  { header: 'KIND', value: (p) => p.kind },
  { header: 'FORM', value: (p) => p.form },
  { header: 'SOURCE', value: (p) => p.source },
  { header: 'VERSION', value: (p) => p.version ?? '', wide: true },
  { header: 'NODE', value: (p) => p.node ?? '', wide: true },
];

export function clusterCommands(): Command[] {
  const members = withOutput(withClientOptions(new Command('members').description('list the agents of the cluster'))).action(
    (opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const list = (await clientOf(opts).members()).sort((a, b) => a.Name.localeCompare(b.Name));
        print(format, list, MEMBER_COLUMNS);
      }),
  );
  const leader = withOutput(withClientOptions(new Command('leader').description('show the current leader'))).action((opts: Record<string, unknown>) =>
    run(async () => {
      print(formatOf(opts), await clientOf(opts).leader(), MEMBER_COLUMNS);
    }),
  );
  const status = withOutput(withClientOptions(new Command('status').description("the agent's identity and health (GET /v1 and /health); exit 1 when degraded"))).action(
    (opts: Record<string, unknown>) =>
      run(async () => {
        const format = formatOf(opts);
        const client = clientOf(opts);
        const [info, health] = await Promise.all([client.info(), client.health()]);
        const data = { ...info, health };
        if (format === 'json' || format === 'yaml') print(format, data, []);
        else {
          const rows: [string, unknown][] = [
            ['agent', info.agent.name],
            ['version', info.agent.version],
            ['backend', info.agent.backend],
            ['leader', info.leader],
            ['health', health.status],
            ...Object.entries(health.checks ?? {}).map(([k, v]): [string, unknown] => [`  ${k}`, v]),
            ['auth', info.security?.auth],
            ['tags', info.tags],
          ];
          if (info.security?.warning) rows.push(['warning', info.security.warning]);
          if (format === 'wide') rows.push(['leadership changes', info.leadership_changes], ['limit hits', info.limit_hits]);
          print(format, rows, [
            { header: 'FIELD', value: (r) => r[0] },
            { header: 'VALUE', value: (r) => r[1] },
          ]);
        }
        return health.status === 'healthy' ? EXIT.ok : EXIT.error;
      }),
  );
  const plugins = withOutput(withClientOptions(new Command('plugins').description("the agent's executors and processors: built-in, plugin modules and executables"))).action(
    (opts: Record<string, unknown>) =>
      run(async () => {
        const list = (await clientOf(opts).plugins()).sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
        print(formatOf(opts), list, PLUGIN_COLUMNS);
      }),
  );
  return [members, leader, status, plugins];
}
