/** Placeholder for a page being built. */
import type { JSX } from 'preact';

export function Stub({ title }: { title: string }): JSX.Element {
  return (
    <div>
      <h1>{title}</h1>
      <p class="muted">Coming up.</p>
    </div>
  );
}
