/**
 * Job definitions shaped like a real fleet's: team-owned, mixed schedules
 * (intervals, five-minutely, daily, local-time crons in several zones),
 * metadata, retries, timeouts. Deterministic in the index, so runs compare.
 */
const TEAMS = ['billing', 'search', 'ingest', 'reports', 'platform', 'growth', 'ledger', 'media'];
const TASKS = ['sync', 'rollup', 'cleanup', 'export', 'reindex', 'backup', 'notify', 'compact'];
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'America/Sao_Paulo', 'Australia/Sydney', 'UTC'];

export interface JobDefinition {
  name: string;
  displayname: string;
  schedule: string;
  timezone: string;
  owner: string;
  owner_email: string;
  metadata: Record<string, string>;
  retries: number;
  concurrency: 'allow' | 'forbid';
  executor: 'shell';
  executor_config: Record<string, string>;
  starts_at: string;
}

function scheduleFor(i: number): { schedule: string; timezone: string } {
  const zone = ZONES[i % ZONES.length] as string;
  switch (i % 4) {
    case 0:
      return { schedule: '@every 1h', timezone: '' };
    case 1:
      return { schedule: '0 */5 * * * *', timezone: '' };
    case 2:
      return { schedule: '@daily', timezone: '' };
    default: {
      // Local business hours; half through the `timezone` field, half through dkron's CRON_TZ= prefix.
      const minute = (i * 7) % 60;
      const hour = 6 + (i % 12);
      const cron = `0 ${minute} ${hour} * * 1-5`;
      return i % 8 === 3 ? { schedule: cron, timezone: zone } : { schedule: `CRON_TZ=${zone} ${cron}`, timezone: '' };
    }
  }
}

/**
 * `startsAt` should lie beyond the measurement: 25% of the jobs are five-minutely, and 25k shells
 * spawned at the next :05 would measure the spawn storm, not the scheduler holding 100k jobs.
 */
export function jobDefinition(i: number, startsAt: string): JobDefinition {
  const team = TEAMS[i % TEAMS.length] as string;
  const task = TASKS[Math.floor(i / TEAMS.length) % TASKS.length] as string;
  const shard = i % 64;
  const id = String(i).padStart(6, '0');
  return {
    name: `${team}-${task}-${id}`,
    displayname: `${team} ${task} (shard ${shard})`,
    ...scheduleFor(i),
    owner: team,
    owner_email: `${team}-oncall@example.com`,
    metadata: { team, service: `${team}-${task}`, env: i % 10 === 0 ? 'staging' : 'prod', shard: String(shard) },
    retries: i % 3,
    concurrency: i % 2 === 0 ? 'forbid' : 'allow',
    executor: 'shell',
    executor_config: {
      command: `/opt/${team}/bin/${task} --shard ${shard} --batch-size 500`,
      timeout: '15m',
      env: `LOG_LEVEL=info,JOB_SHARD=${shard}`,
    },
    starts_at: startsAt,
  };
}
