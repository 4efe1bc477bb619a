/**
 * The parent job: typed with suggestions from a server-side search (a select of every job
 * would not scale to 100k), so only the first matches are fetched.
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
