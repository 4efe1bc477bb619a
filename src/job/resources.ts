/**
 * Capacity-aware placement's arithmetic: what a run needs (`resources` on a job), what an agent
 * has (`capacity`, advertised in its member record), and whether one fits beside what already runs
 * there. Quantities read as Kubernetes writes them: CPU as cores (`2`, `0.5`, `"500m"`), memory as
 * bytes with `Ki/Mi/Gi/Ti` (powers of 1024) or `K/M/G/T` (powers of 1000).
 */
import { ValidationError } from '../errors/catalogue.js';

/** As stored on a job: cpu in cores, memory as written (validated), slots by name. */
export interface JobResources {
  cpu?: number;
  memory?: string;
  slots?: Record<string, number>;
}

/** What an agent has, or what runs use: cpu in cores, memory in bytes. */
export interface Capacity {
  cpu: number;
  memory: number;
  slots: Record<string, number>;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const SLOT_NAME = /^[A-Za-z0-9_.-]{1,63}$/;

/** Cores from `2`, `0.5` or `"500m"`; null when it isn't a positive quantity. */
export function parseCpu(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
  return n > 0 ? n : null;
}

/** Bytes from `4Gi`, `512Mi`, `1G` or a number; null when it isn't a positive quantity. */
export function parseMemory(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 1 ? Math.floor(v) : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)([KMGT]i?)?$/.exec(v.trim());
  if (!m) return null;
  const bytes = Math.floor(Number(m[1]) * (MEMORY_UNITS[m[2] ?? ''] ?? NaN));
  return bytes >= 1 && Number.isSafeInteger(bytes) ? bytes : null;
}

/** The job's `resources` validated into their stored form (null: none). Errors name `resources.<key>`. */
export function normalizeResources(raw: unknown): JobResources | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('resources', 'resources must be an object such as {"cpu": 2, "memory": "4Gi", "slots": {"gpu": 1}}');
  const out: JobResources = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === null) continue;
    if (k === 'cpu') {
      const cpu = parseCpu(v);
      if (cpu === null) throw new ValidationError('resources.cpu', `resources.cpu must be a positive number of cores (2, 0.5 or "500m"), got ${JSON.stringify(v)}`);
      out.cpu = cpu;
    } else if (k === 'memory') {
      if (parseMemory(v) === null) throw new ValidationError('resources.memory', `resources.memory must be a size such as "512Mi", "4Gi" or "1G", got ${JSON.stringify(v)}`);
      out.memory = String(v).trim();
    } else if (k === 'slots') {
      if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationError('resources.slots', 'resources.slots must map slot names to counts, such as {"gpu": 1}');
      const slots: Record<string, number> = {};
      for (const [name, n] of Object.entries(v as Record<string, unknown>)) {
        if (!SLOT_NAME.test(name)) throw new ValidationError(`resources.slots.${name}`, `slot name "${name}" must be letters, digits, '_', '-' or '.'`);
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ValidationError(`resources.slots.${name}`, `resources.slots.${name} must be a whole number of at least 1`);
        slots[name] = n;
      }
      if (Object.keys(slots).length > 0) out.slots = slots;
    } else {
      throw new ValidationError(`resources.${k}`, `unknown resource "${k}" (use cpu, memory and slots)`);
    }
  }
  return Object.keys(out).length > 0 ? out : null;
}

export function needsOf(r: JobResources | null | undefined): Capacity | null {
  if (!r) return null;
  return { cpu: r.cpu ?? 0, memory: r.memory ? (parseMemory(r.memory) ?? 0) : 0, slots: { ...(r.slots ?? {}) } };
}

export function emptyCapacity(): Capacity {
  return { cpu: 0, memory: 0, slots: {} };
}

export function add(to: Capacity, n: Capacity): void {
  to.cpu += n.cpu;
  to.memory += n.memory;
  for (const [k, v] of Object.entries(n.slots)) to.slots[k] = (to.slots[k] ?? 0) + v;
}

/** Why `needs` does not fit beside `used` on an agent with `cap`, or null when it fits. */
export function misfit(cap: Capacity, used: Capacity, needs: Capacity): string | null {
  // Sub-millicore float dust must not refuse an exact fit (3 × 0.1 cores on 0.3).
  if (needs.cpu > 0 && used.cpu + needs.cpu > cap.cpu + 1e-9) return `cpu ${fmt(cap.cpu - used.cpu)} of ${fmt(cap.cpu)} free, needs ${fmt(needs.cpu)}`;
  if (needs.memory > 0 && used.memory + needs.memory > cap.memory) return `memory ${bytes(cap.memory - used.memory)} of ${bytes(cap.memory)} free, needs ${bytes(needs.memory)}`;
  for (const [k, v] of Object.entries(needs.slots)) {
    const has = cap.slots[k] ?? 0;
    if ((used.slots[k] ?? 0) + v > has) return `slot ${k}: ${has - (used.slots[k] ?? 0)} of ${has} free, needs ${v}`;
  }
  return null;
}

/** Whether an agent could ever run it (an empty agent): a run that never fits is refused, not queued. */
export function everFits(cap: Capacity, needs: Capacity): boolean {
  return misfit(cap, emptyCapacity(), needs) === null;
}

export function describeNeeds(n: Capacity): string {
  const parts: string[] = [];
  if (n.cpu > 0) parts.push(`cpu ${fmt(n.cpu)}`);
  if (n.memory > 0) parts.push(`memory ${bytes(n.memory)}`);
  for (const [k, v] of Object.entries(n.slots)) parts.push(`${k} ${v}`);
  return parts.join(', ');
}

function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 10) / 10} ${units[i] as string}`;
}
