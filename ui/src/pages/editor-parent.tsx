/**
 * The parents: dkron's one parent job, typed with suggestions from a server-side search (a
 * select of every job would not scale to 100k, so only the first matches are fetched), and
 * Kairos' fan-in `depends_on`, typed as comma-separated names. The two are exclusive.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Job } from '../api.js';
import { Field } from './editor-field.js';

const LIMIT = 20;

export function ParentField({ value, self, set }: { value: string; self: string; set: (v: string) => void }): JSX.Element {
  const [options, setOptions] = useState<string[]>([]);
  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api<Job[]>('GET', 'jobs', { query: { q: value, _start: 0, _end: LIMIT + 1 }, signal: controller.signal }).then(
        (r) => setOptions(r.data.map((j) => j.name).filter((n) => n !== self).slice(0, LIMIT)),
        () => undefined,
      );
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [value, self]);
  return (
    <Field field="parent_job" label="Parent job" hint="Runs after the parent succeeds (then the schedule may be empty).">
      {(c) => (
        <>
          <input {...c} value={value} list="parent-list" autoComplete="off" spellcheck={false} placeholder="none" onInput={(ev) => set(ev.currentTarget.value)} />
          <datalist id="parent-list">
            {options.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </>
      )}
    </Field>
  );
}

/** "a, b ,, c" → ["a", "b", "c"]. */
export const parseNames = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The draft's depends_on as a list (whatever the JSON tab left there). */
export function namesOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : String(x)));
  return typeof v === 'string' ? parseNames(v) : [];
}

/**
 * Fan-in parents. The text is kept as typed (a trailing ", " mid-typing must stay) and the draft
 * gets the parsed list; empty leaves `depends_on` out.
 */
export function DependsOnField({ value, self, parent, set }: { value: string[]; self: string; parent: string; set: (v: string[] | undefined) => void }): JSX.Element {
  const [text, setText] = useState(() => value.join(', '));
  const names = parseNames(text);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  const problem =
    names.length && parent.trim() !== ''
      ? 'set either "Depends on" or a parent job, not both'
      : self !== '' && names.includes(self)
        ? 'a job can not depend on itself'
        : dup
          ? `"${dup}" is listed twice`
          : null;
  return (
    <Field field="depends_on" label="Depends on" hint="Comma-separated job names: runs once per window in which all of these succeeded; exclusive with parent job." extra={problem}>
      {(c) => (
        <input
          {...c}
          value={text}
          autoComplete="off"
          spellcheck={false}
          placeholder="none, e.g. extract, load"
          onInput={(ev) => {
            setText(ev.currentTarget.value);
            const list = parseNames(ev.currentTarget.value);
            set(list.length ? list : undefined);
          }}
        />
      )}
    </Field>
  );
}
