/**
 * What one run of the job needs (`resources`, capacity-aware placement): CPU, memory and counted
 * slots ("gpu=1, licence=2"). The texts live here while typing ("0.50" or "gpu=" must not be
 * rewritten under the cursor); the draft gets the parsed object on every change, or no
 * `resources` at all when every field is empty. What can't be parsed here is sent as typed, so the
 * server's error names the field (`resources.cpu`, `resources.slots.gpu`) and it shows here.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorMessage, Field, fieldId, useFieldError } from './editor-field.js';
import { str } from './editor-model.js';

interface Texts {
  cpu: string;
  memory: string;
  slots: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

function textsOf(v: unknown): Texts {
  const r = isObject(v) ? v : {};
  const slots = isObject(r.slots) ? Object.entries(r.slots).map(([k, n]) => `${k}=${str(n)}`).join(', ') : '';
  return { cpu: str(r.cpu), memory: str(r.memory), slots };
}

/** "gpu=1, licence=2" → {gpu: 1, licence: 2}; a count that isn't a whole number stays text for the server to name. */
export function parseSlots(text: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const entry of text.split(/[,;\n]/)) {
    const e = entry.trim();
    if (e === '') continue;
    const eq = e.indexOf('=');
    const name = (eq < 0 ? e : e.slice(0, eq)).trim();
    const count = eq < 0 ? '' : e.slice(eq + 1).trim();
    out[name] = /^\d+$/.test(count) ? Number(count) : count;
  }
  return out;
}

/** The `resources` object for the texts (keys the form has no field for are kept), or undefined when all are empty. */
export function resourcesOf(t: Texts, previous: unknown): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (isObject(previous)) for (const [k, v] of Object.entries(previous)) if (k !== 'cpu' && k !== 'memory' && k !== 'slots') out[k] = v;
  const cpu = t.cpu.trim();
  if (cpu !== '') out.cpu = /^\d+(\.\d+)?$/.test(cpu) ? Number(cpu) : cpu;
  const memory = t.memory.trim();
  if (memory !== '') out.memory = memory;
  const slots = parseSlots(t.slots);
  if (Object.keys(slots).length > 0) out.slots = slots;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function ResourcesFields({ value, set }: { value: unknown; set: (resources: Record<string, unknown> | undefined) => void }): JSX.Element {
  const [texts, setTexts] = useState<Texts>(() => textsOf(value));
  const groupError = useFieldError('resources');
  const base = fieldId('resources');
  const edit = (patch: Partial<Texts>): void => {
    const next = { ...texts, ...patch };
    setTexts(next);
    set(resourcesOf(next, value));
  };
  return (
    <fieldset class="kv resources" data-field="resources" aria-invalid={groupError ? 'true' : undefined} aria-describedby={groupError ? `${base}-error` : undefined}>
      <legend>Resources</legend>
      <div class="hint">What one run needs: it starts only on an agent with that much room left, and waits in a queue while none has. Empty: none declared.</div>
      <div class="row3">
        <Field field="resources.cpu" label="CPU" hint='Cores: 2, 0.5 or "500m".'>
          {(c) => <input {...c} value={texts.cpu} inputMode="decimal" autoComplete="off" spellcheck={false} placeholder="e.g. 0.5" onInput={(ev) => edit({ cpu: ev.currentTarget.value })} />}
        </Field>
        <Field field="resources.memory" label="Memory" hint="512Mi, 4Gi (or 1G); a shell run that outgrows it is killed.">
          {(c) => <input {...c} value={texts.memory} autoComplete="off" spellcheck={false} placeholder="e.g. 512Mi" onInput={(ev) => edit({ memory: ev.currentTarget.value })} />}
        </Field>
        <Field field="resources.slots" prefix label="Slots" hint="name=count, …: GPUs, licences, anything agents count (--slot).">
          {(c) => <input {...c} value={texts.slots} autoComplete="off" spellcheck={false} placeholder="e.g. gpu=1" onInput={(ev) => edit({ slots: ev.currentTarget.value })} />}
        </Field>
      </div>
      <ErrorMessage id={base} message={groupError?.message} />
    </fieldset>
  );
}
