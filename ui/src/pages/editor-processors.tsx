/** A job's processors (run after each attempt, in order): a name and its key/value settings each. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { KeyValues, fromPairs, toPairs } from './editor-kv.js';
import { useFieldError } from './editor-field.js';

type Processors = Record<string, Record<string, string>>;

const KNOWN_KEYS: Record<string, string[]> = {
  log: ['forward'],
  files: ['log_dir', 'forward'],
  syslog: ['address', 'forward'],
  fluent: ['host', 'port', 'tag', 'require_ack', 'forward'],
};

export function ProcessorsFields({ value, names, set }: { value: Processors; names: string[]; set: (p: Processors) => void }): JSX.Element {
  const [adding, setAdding] = useState('');
  const err = useFieldError('processors');
  const present = Object.keys(value);
  const choices = [...new Set([...names, ...Object.keys(KNOWN_KEYS)])].filter((n) => !present.includes(n));
  const add = (): void => {
    const n = adding.trim();
    if (!n || present.includes(n)) return;
    set({ ...value, [n]: {} });
    setAdding('');
  };
  return (
    <div class="processors" data-field="processors">
      {err ? <div class="field-error">{err.message}</div> : null}
      {present.length === 0 ? <p class="muted">None: the output is stored with the execution.</p> : null}
      {present.map((name) => (
        <div class="processor" key={name}>
          <KeyValues
            noun={`${name} setting`}
            legend={`Processor "${name}"`}
            field={`processors.${name}`}
            pairs={toPairs(value[name] ?? {})}
            keySuggestions={KNOWN_KEYS[name] ?? []}
            onChange={(p) => set({ ...value, [name]: fromPairs(p) })}
          />
          <button
            type="button"
            class="link"
            onClick={() => {
              const next = { ...value };
              delete next[name];
              set(next);
            }}
          >
            Remove processor "{name}"
          </button>
        </div>
      ))}
      <div class="add-processor">
        <label for="add-processor">Add a processor</label>
        <input id="add-processor" list="processor-list" value={adding} autoComplete="off" onInput={(ev) => setAdding(ev.currentTarget.value)} />
        <datalist id="processor-list">
          {choices.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <button type="button" onClick={add} disabled={!adding.trim()}>
          Add
        </button>
      </div>
    </div>
  );
}
