/**
 * A labelled form field that shows the server's error for its API field: aria-invalid on the
 * control, the message under it (linked with aria-describedby). The error comes by context so
 * every nested field checks it without threading props.
 */
import { createContext, type ComponentChildren, type JSX } from 'preact';
import { useContext } from 'preact/hooks';
import type { FieldError } from './editor-model.js';

export const ErrorContext = createContext<FieldError | null>(null);

/** The DOM id of the control for an API field ("executor_config.command" → "f-executor_config-command"). */
export const fieldId = (field: string): string => `f-${field.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export interface ControlProps {
  id: string;
  'aria-invalid'?: 'true';
  'aria-describedby'?: string;
}

/** A field's error under its control, with the id its aria-describedby names (`${id}-error`). */
export function ErrorMessage({ id, message }: { id: string; message: ComponentChildren }): JSX.Element | null {
  return message ? (
    <div class="field-error" id={`${id}-error`}>
      {message}
    </div>
  ) : null;
}

/** The error for `field` (or, with `prefix`, for any field under it). */
export function useFieldError(field: string, prefix = false): FieldError | null {
  const err = useContext(ErrorContext);
  if (!err) return null;
  if (err.field === field || (prefix && err.field.startsWith(`${field}.`))) return err;
  return null;
}

export function Field({
  field,
  label,
  hint,
  extra,
  prefix,
  children,
  class: cls,
}: {
  field: string;
  /** Also show errors for keys under the field ("resources.slots.gpu" on "resources.slots"). */
  prefix?: boolean;
  label: ComponentChildren;
  hint?: ComponentChildren;
  /** A client-side problem shown like the server's (live validation). */
  extra?: string | null;
  children: (control: ControlProps) => JSX.Element;
  class?: string;
}): JSX.Element {
  const err = useFieldError(field, prefix);
  const id = fieldId(field);
  const message = err?.message ?? extra ?? null;
  const described = [message ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field ${cls ?? ''}`} data-field={field}>
      <label for={id}>{label}</label>
      {children({ id, ...(message ? { 'aria-invalid': 'true' as const } : {}), ...(described ? { 'aria-describedby': described } : {}) })}
      <ErrorMessage id={id} message={message} />
      {hint ? (
        <div class="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

/** A checkbox whose own text is its label, with the field's error and a hint. */
export function Check({ field, label, hint, checked, set }: { field: string; label: ComponentChildren; hint?: ComponentChildren; checked: boolean; set: (on: boolean) => void }): JSX.Element {
  const err = useFieldError(field);
  const id = fieldId(field);
  return (
    <div class="field check" data-field={field}>
      <label class="checkline" for={id}>
        <input id={id} type="checkbox" checked={checked} aria-invalid={err ? 'true' : undefined} aria-describedby={err ? `${id}-error` : hint ? `${id}-hint` : undefined} onChange={(ev) => set(ev.currentTarget.checked)} />{' '}
        {label}
      </label>
      <ErrorMessage id={id} message={err?.message} />
      {hint ? (
        <div class="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}
