/**
 * Whether a job can run anywhere, checked when it is saved: its executor and processors must
 * exist on at least one agent its tags select (or, when none matches yet, on some agent). A job
 * that could only fail is refused with a 400 naming the field, instead of failing on every tick.
 * Config checks run here too for what this agent has; a plugin only another agent has is
 * validated there, when it runs.
 */
import type { ExecutorRegistry } from '../executors/registry.js';
import type { ProcessorRegistry } from '../processors/registry.js';
import type { Member } from '../cluster/types.js';
import { describeTags, missing, requirementsOf, tagMatches } from '../cluster/targets.js';
import type { ExecutorCatalog } from '../job/schema.js';
import { describeNeeds, everFits, needsOf, type JobResources } from '../job/resources.js';

type Problem = { field: string; message: string };

export interface PlacementSubject {
  tags: Record<string, string> | null;
  executor: string;
  processors: Record<string, Record<string, string>> | null;
  resources?: JobResources | null;
}

export class Placement implements ExecutorCatalog {
  constructor(
    private readonly executors: ExecutorRegistry,
    private readonly processors: ProcessorRegistry,
    /** The cluster's members; a failure (backend away) falls back to this agent alone. */
    private readonly members: () => Promise<Member[]>,
    private readonly self: () => Member,
  ) {}

  validate(executor: string, config: Record<string, string>): Problem | null {
    // Unknown here: placement (check) decides, since another agent may have it.
    return this.executors.get(executor) ? this.executors.validate(executor, config) : null;
  }

  validateProcessors(processors: Record<string, Record<string, string>>): Problem | null {
    return this.processors.validate(processors);
  }

  async placement(): Promise<(job: PlacementSubject) => Problem | null> {
    const members = await this.snapshot();
    return (job) => this.check(job, members);
  }

  /** One member list for many jobs (bulk saves). */
  async snapshot(): Promise<Member[]> {
    try {
      const members = await this.members();
      return members.length > 0 ? members : [this.self()];
    } catch {
      return [this.self()];
    }
  }

  /** The problem with running this job anywhere, or null. */
  check(job: PlacementSubject, members: Member[]): Problem | null {
    const needs = requirementsOf(job);
    const matching = tagMatches(job.tags, members);
    const pool = matching.length > 0 ? matching : members.filter((m) => m.statusText === 'alive');
    const want = needsOf(job.resources);
    if (want && matching.length > 0 && !matching.some((m) => !m.capacity || everFits(m.capacity, want))) {
      // Runs that no matching agent could ever hold would only pile up as skips.
      const largest = matching.map((m) => `${m.Name}: cpu ${m.capacity?.cpu}, memory ${Math.floor((m.capacity?.memory ?? 0) / 2 ** 20)} MiB${Object.keys(m.capacity?.slots ?? {}).length ? `, ${Object.entries(m.capacity?.slots ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`);
      return { field: 'resources', message: `no agent matching the job's tags (${describeTags(job.tags) || 'none'}) can hold ${describeNeeds(want)} (${largest.join('; ')})` };
    }
    if (pool.some((m) => missing(m, needs) === null)) return null;
    const field = missingField(pool, needs);
    const what = field === 'executor' ? `executor "${needs.executor}"` : `processor "${field.slice('processors.'.length)}"`;
    const having = members.filter((m) => m.statusText === 'alive' && hasPart(m, field, needs.executor)).map((m) => m.Name);
    const where =
      having.length > 0
        ? `no agent matching the job's tags (${describeTags(job.tags) || 'none'}) has ${what}`
        : `unknown ${what}: no agent has it`;
    const available = field === 'executor' ? ` (executors here: ${this.executors.names().join(', ')})` : ` (processors here: ${this.processors.names().join(', ')})`;
    return { field, message: `${where}${having.length > 0 ? `; agents with it: ${having.join(', ')}` : available}` };
  }
}

/** Which requirement the pool lacks: the executor first, then the first processor nobody has. */
function missingField(pool: Member[], needs: { executor: string; processors: string[] }): string {
  if (!pool.some((m) => !m.executors || m.executors.includes(needs.executor))) return 'executor';
  const lacking = needs.processors.find((p) => !pool.some((m) => !m.processors || m.processors.includes(p)));
  return lacking ? `processors.${lacking}` : 'executor';
}

function hasPart(m: Member, field: string, executor: string): boolean {
  if (field === 'executor') return !m.executors || m.executors.includes(executor);
  const p = field.slice('processors.'.length);
  return !m.processors || m.processors.includes(p);
}
