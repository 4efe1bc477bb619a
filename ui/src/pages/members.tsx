/**
 * Members (#/members): every agent of the cluster from GET /v1/members, the leader from GET /v1/leader
 * (503 while none is elected), polled. Tags, role, status, running executions, load, the capacity it
 * offers to jobs that declare resources, version, and the executors and processors each advertises
 * (placement only sends a job where its executor exists).
 */
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { api, ApiError, type Member } from '../api.js';
import { useLoad } from '../hooks.js';
import { Badge, ErrorPanel, Section, Tags, Time } from '../components/common.js';
import { memberStatusKind } from './dashboard-members.js';
import { capacityParts } from '../capacity.js';
import './members.css';

const POLL_MS = 5000;

interface MembersView {
  members: Member[];
  leader: string | null;
}

async function loadMembers(signal: AbortSignal): Promise<MembersView> {
  const [members, leader] = await Promise.all([
    api<Member[]>('GET', 'members', { signal }).then((r) => r.data),
    api<Member>('GET', 'leader', { signal }).then(
      (r) => r.data.Name,
      (err: unknown) => {
        // No leader elected right now is an answer, not a failure of the page.
        if (err instanceof ApiError && err.status === 503) return null;
        throw err;
      },
    ),
  ]);
  return { members: [...members].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)), leader };
}

export function MembersPage(): JSX.Element {
  useEffect(() => {
    document.title = 'Members · Kairos';
  }, []);
  const { data, error } = useLoad(loadMembers, [], POLL_MS);
  const alive = data?.members.filter((m) => m.statusText === 'alive').length ?? 0;
  return (
    <div class="members-page">
      <h1>Members</h1>
      <ErrorPanel error={error} />
      {data ? (
        <>
          <p class="muted" id="members-summary">
            {data.members.length} {data.members.length === 1 ? 'agent' : 'agents'}, {alive} alive · leader:{' '}
            {data.leader ? <strong>{data.leader}</strong> : <Badge kind="error">none elected</Badge>}
          </p>
          <Section title="Agents">
            <MembersTable members={data.members} leader={data.leader} />
          </Section>
        </>
      ) : error ? null : (
        <p class="muted">Loading…</p>
      )}
    </div>
  );
}

function MembersTable({ members, leader }: { members: Member[]; leader: string | null }): JSX.Element {
  if (members.length === 0) return <p class="muted">No members.</p>;
  return (
    <table class="responsive" id="members-table">
      <caption class="sr-only">Cluster members</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Role</th>
          <th scope="col">Status</th>
          <th scope="col">Address</th>
          <th scope="col">Running</th>
          <th scope="col">Load</th>
          <th scope="col">Capacity</th>
          <th scope="col">Last seen</th>
          <th scope="col">Version</th>
          <th scope="col">Tags</th>
          <th scope="col">Executors / processors</th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => (
          <tr key={m.Name} data-member={m.Name}>
            <td data-label="Name">
              <strong>{m.Name}</strong> {m.Name === leader ? <Badge kind="leader">leader</Badge> : null}
            </td>
            <td data-label="Role">{m.server ? 'server' : 'client'}</td>
            <td data-label="Status">
              <Badge kind={memberStatusKind(m.statusText)}>{m.statusText}</Badge>
            </td>
            <td data-label="Address">
              <span class="mono">
                {m.Addr}:{m.Port}
              </span>
            </td>
            <td data-label="Running" title="Executions running or queued on this agent">
              {m.running}
            </td>
            <td data-label="Load" title="1-minute load average">
              {m.load}
            </td>
            <td data-label="Capacity" title="What it offers to jobs that declare resources (cpu in cores)">
              {m.capacity ? (
                <span class="tags capacity">
                  {capacityParts(m.capacity).map((p) => (
                    <span class="chip" key={p}>
                      {p}
                    </span>
                  ))}
                </span>
              ) : (
                <span class="muted">not reported</span>
              )}
            </td>
            <td data-label="Last seen" title="When the agent last refreshed its membership (it stays listed while its lease lives)">
              <Time iso={m.last_seen ?? null} />
            </td>
            <td data-label="Version">{m.version}</td>
            <td data-label="Tags">{Object.keys(m.Tags ?? {}).length ? <Tags tags={m.Tags} /> : <span class="muted">none</span>}</td>
            <td data-label="Plugins">
              <Plugins label="executors" names={m.executors} />
              <Plugins label="processors" names={m.processors} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Agents older than plugins don't list them: they are assumed to have any. */
function Plugins({ label, names }: { label: string; names: string[] | undefined }): JSX.Element {
  return (
    <div class="plugins small">
      <span class="muted">{label}: </span>
      {names === undefined ? (
        <span class="muted">not reported</span>
      ) : names.length === 0 ? (
        <span class="muted">none</span>
      ) : (
        <span class="tags">
          {names.map((n) => (
            <span class="chip" key={n}>
              {n}
            </span>
          ))}
        </span>
      )}
    </div>
  );
}
