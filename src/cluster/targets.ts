/**
 * dkron's tag targeting: every job tag must equal the agent's tag; a value
 * `v:N` also caps how many agents run it (the smallest N across tags wins; a
 * count that isn't a whole number selects nobody). Among candidates the least
 * busy agents are chosen, then the least loaded machine, random among equals, so work spreads.
 */
import type { Member } from './types.js';

export interface TagSelector {
  required: Record<string, string>;
  /** null = every matching agent. */
  cardinality: number | null;
}

export function parseTagSelector(tags: Record<string, string> | null): TagSelector {
  const required: Record<string, string> = {};
  let cardinality: number | null = null;
  for (const [key, raw] of Object.entries(tags ?? {})) {
    const idx = raw.lastIndexOf(':');
    let value = raw;
    if (idx >= 0) {
      value = raw.slice(0, idx);
      const countText = raw.slice(idx + 1);
      const count = /^\d+$/.test(countText) ? Number(countText) : 0;
      cardinality = cardinality === null ? count : Math.min(cardinality, count);
    }
    required[key] = value;
  }
  return { required, cardinality };
}

export function describeTags(tags: Record<string, string> | null): string {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function matches(member: Member, selector: TagSelector): boolean {
  return Object.entries(selector.required).every(([k, v]) => member.Tags[k] === v);
}

/** What a job needs of the agent that runs it, beyond tags. */
export interface Requirements {
  executor: string;
  processors: string[];
}

/** The first requirement the agent lacks, or null. An agent that doesn't advertise (older version) is assumed to have all. */
export function missing(member: Member, needs: Requirements): string | null {
  if (member.executors && !member.executors.includes(needs.executor)) return `executor "${needs.executor}"`;
  for (const p of needs.processors) if (member.processors && !member.processors.includes(p)) return `processor "${p}"`;
  return null;
}

export function requirementsOf(job: { executor: string; processors: Record<string, unknown> | null }): Requirements {
  return { executor: job.executor, processors: Object.keys(job.processors ?? {}) };
}

/** Alive agents matching the tags, before the executor check and the count. */
export function tagMatches(tags: Record<string, string> | null, members: Member[]): Member[] {
  const selector = parseTagSelector(tags);
  return members.filter((m) => m.statusText === 'alive' && matches(m, selector));
}

export function selectTargets(
  tags: Record<string, string> | null,
  members: Member[],
  random: () => number = Math.random,
  needs: Requirements | null = null,
): Member[] {
  const selector = parseTagSelector(tags);
  const candidates = tagMatches(tags, members).filter((m) => needs === null || missing(m, needs) === null);
  if (selector.cardinality === null || candidates.length <= selector.cardinality) return candidates;
  const keyed = candidates.map((m) => ({ m, r: random() }));
  keyed.sort((a, b) => a.m.running - b.m.running || (a.m.load ?? 0) - (b.m.load ?? 0) || a.r - b.r);
  return keyed.slice(0, selector.cardinality).map((k) => k.m);
}
