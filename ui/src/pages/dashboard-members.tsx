/** The members at a glance on the dashboard: who leads, who is up and how busy; the Members page has the rest. */
import type { JSX } from 'preact';
import type { Member } from '../api.js';
import { Badge } from '../components/common.js';

export function memberStatusKind(status: string): string {
  return status === 'alive' ? 'ok' : status === 'leaving' ? 'warn' : 'error';
}

export function MembersGlance({ members, leader }: { members: Member[]; leader: string | null }): JSX.Element {
  if (members.length === 0) return <p class="muted">No members.</p>;
  return (
    <ul class="glance" id="members-glance-list">
      {members.map((m) => (
        <li key={m.Name}>
          <strong>{m.Name}</strong>
          {m.Name === leader ? <Badge kind="leader">leader</Badge> : null}
          <Badge kind={memberStatusKind(m.statusText)}>{m.statusText}</Badge>
          <span class="muted small">
            {m.server ? 'server' : 'client'} · {m.running} running · load {m.load}
          </span>
        </li>
      ))}
    </ul>
  );
}
