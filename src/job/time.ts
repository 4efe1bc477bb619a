/**
 * Job times (starts_at, expires_at) accept RFC 3339 or the HTML datetime-local
 * form `YYYY-MM-DDTHH:MM` (read as UTC), as dkron's ntime does.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const LOCAL_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

export function parseJobTime(value: string): Date | null {
  let d: Date;
  if (RFC3339.test(value)) d = new Date(value);
  else if (LOCAL_FORM.test(value)) d = new Date(`${value}:00Z`);
  else return null;
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `YYYY-...Z` with milliseconds, the one time format Kairos emits. */
export function iso(d: Date | number): string {
  return new Date(d).toISOString();
}
