/**
 * Key/value rows (tags, env, headers, an executor's or processor's settings). The rows live
 * here while typing (a half-typed or duplicate key must not lose its value); the parent gets
 * the complete pairs on every change.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorMessage, fieldId, useFieldError } from './editor-field.js';

export type Pair = [string, string];

let seq = 0;
interface Row {
  id: number;
  k: string;
  v: string;
}

export interface KvProps {
  /** The group's name, singular ("tag"): labels "tag 1 key", button "Add tag". */
  noun: string;
  legend: string;
  pairs: Pair[];
  onChange: (pairs: Pair[]) => void;
  /** The API field of the group ("tags"); a row's is `${field}.${key}` unless `rowField` says. */
  field: string;
  rowField?: (key: string) => string;
  keySuggestions?: string[];
  hint?: string;
  multilineValues?: boolean;
}

export function KeyValues({ noun, legend, pairs, onChange, field, rowField, keySuggestions, hint, multilineValues }: KvProps): JSX.Element {
  const [rows, setRows] = useState<Row[]>(() => pairs.map(([k, v]) => ({ id: seq++, k, v })));
  const groupError = useFieldError(field);
  const anyError = useFieldError(field, true);
  const rowsInvalid = Boolean(anyError && rows.some((r) => rowOf(r.k.trim()) === anyError.field));
  const rowOf = rowField ?? ((k: string) => `${field}.${k}`);
  const base = fieldId(field);
  const emit = (next: Row[]): void => {
    setRows(next);
    onChange(next.filter((r) => r.k.trim() !== '').map((r) => [r.k.trim(), r.v]));
  };
  const edit = (id: number, patch: Partial<Row>): void => emit(rows.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  const listId = keySuggestions?.length ? `${base}-keys` : undefined;
  const usedKeys = new Set(rows.map((r) => r.k));
  return (
    <fieldset class="kv" data-field={field} aria-invalid={groupError || rowsInvalid ? 'true' : undefined} aria-describedby={groupError ? `${base}-error` : undefined}>
      <legend>{legend}</legend>
      {hint ? <div class="hint">{hint}</div> : null}
      {listId ? (
        <datalist id={listId}>
          {(keySuggestions ?? [])
            .filter((k) => !usedKeys.has(k))
            .map((k) => (
              <option key={k} value={k} />
            ))}
        </datalist>
      ) : null}
      {rows.map((r, i) => {
        const rowErr = anyError && anyError.field !== field && anyError.field === rowOf(r.k.trim()) ? anyError : null;
        const rid = `${base}-${i}`;
        return (
          <div class="kv-row" key={r.id}>
            <input
              id={`${rid}-k`}
              aria-label={`${noun} ${i + 1} key`}
              value={r.k}
              placeholder="key"
              list={listId}
              autoComplete="off"
              spellcheck={false}
              aria-invalid={rowErr ? 'true' : undefined}
              aria-describedby={rowErr ? `${rid}-error` : undefined}
              onInput={(ev) => edit(r.id, { k: ev.currentTarget.value })}
            />
            {multilineValues ? (
              <textarea
                aria-label={`${noun} ${i + 1} value`}
                value={r.v}
                rows={Math.min(6, r.v.split('\n').length)}
                aria-invalid={rowErr ? 'true' : undefined}
                onInput={(ev) => edit(r.id, { v: ev.currentTarget.value })}
              />
            ) : (
              <input
                aria-label={`${noun} ${i + 1} value`}
                value={r.v}
                placeholder="value"
                autoComplete="off"
                spellcheck={false}
                aria-invalid={rowErr ? 'true' : undefined}
                onInput={(ev) => edit(r.id, { v: ev.currentTarget.value })}
              />
            )}
            <button type="button" class="icon" aria-label={`Remove ${noun} ${i + 1}`} title="Remove" onClick={() => emit(rows.filter((x) => x.id !== r.id))}>
              ✕
            </button>
            <ErrorMessage id={rid} message={rowErr?.message} />
          </div>
        );
      })}
      <button type="button" class="add" onClick={() => setRows([...rows, { id: seq++, k: '', v: '' }])}>
        Add {noun}
      </button>
      <ErrorMessage id={base} message={groupError?.message} />
    </fieldset>
  );
}

export const toPairs = (m: Record<string, string>): Pair[] => Object.entries(m);
export const fromPairs = (p: Pair[]): Record<string, string> => Object.fromEntries(p);
