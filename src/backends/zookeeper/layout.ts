/**
 * Where everything lives in ZooKeeper, under the root znode `/<keyspace>`:
 *
 *   jobs/<job>                        job JSON
 *   executions/<job>/<id>             execution JSON
 *   running/<job>/<id>                {node, group}: executions with finished_at null. The data
 *                                     version of running/<job> itself is bumped by every write
 *                                     that adds or removes an entry, so a multi can require "the
 *                                     running set is unchanged" (ZooKeeper's check op sees data
 *                                     versions, not children).
 *   groups/<job>/<group>@<id>         {s: started ms}: finished executions by group (no outputs);
 *                                     groups/<job>'s data version is bumped the same way.
 *   assign/<node>/<job>@<id>          an agent's work queue; claimed by deleting the entry
 *   followups/<job>@<group>           {node, children}: dependents still to run
 *   ticks/<job>                       last dispatched tick (RFC 3339)
 *   settings/<key>, tokens/<name>     small records
 *   skips/<job>/<id>                  skip records (ids sort in time order)
 *   audit/all/<id>, audit/job/<job>/<id>   the audit log, twice, so a job's history is one listing
 *   members/<node>                    ephemeral: Member JSON of each live agent
 *   election/n_<uuid>_<seq>           ephemeral sequential: candidates; the lowest leads
 *   changes/c_<seq>                   persistent sequential: {name, job} of every job write, in
 *                                     the job's own multi (watchJobs follows it; trimmed; its data
 *                                     is the low-water mark: entries below it are gone)
 *
 * Every segment made of a name or id is URI-encoded (dots too), so a '/' or a
 * '.' / '..' in a name stays one valid znode name. Per-job parents are never
 * deleted: their data versions only grow, so a version read once can't come back
 * after a delete and re-create (no ABA on the running/groups guards).
 */

export function seg(value: string): string {
  return encodeURIComponent(value).replace(/\./g, '%2E');
}

export function unseg(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** Splits `<a>@<b>` (both encoded: an encoded segment holds no '@'). */
export function splitPair(name: string): [string, string] | null {
  const at = name.indexOf('@');
  if (at <= 0 || at === name.length - 1) return null;
  return [unseg(name.slice(0, at)), unseg(name.slice(at + 1))];
}

export class Layout {
  readonly root: string;
  readonly jobs: string;
  readonly ticks: string;
  readonly settings: string;
  readonly tokens: string;
  readonly followups: string;
  readonly running: string;
  readonly members: string;
  readonly election: string;
  readonly auditAll: string;
  /** The job change log: changes/c_<seq>, each {name, job} (job null: deleted); data: the low-water mark. */
  readonly changes: string;
  /** Nodes that exist before any write (created once per store). */
  readonly bases: string[];

  constructor(keyspace: string) {
    const trimmed = String(keyspace ?? '').replace(/^\/+|\/+$/g, '');
    if (trimmed === '') throw new Error('zookeeper backend: keyspace (the root znode) must not be empty');
    if (trimmed.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new Error(`zookeeper backend: keyspace "${keyspace}" is not a valid znode path (empty, "." or ".." segment)`);
    }
    this.root = `/${trimmed}`;
    this.jobs = `${this.root}/jobs`;
    this.ticks = `${this.root}/ticks`;
    this.settings = `${this.root}/settings`;
    this.tokens = `${this.root}/tokens`;
    this.followups = `${this.root}/followups`;
    this.running = `${this.root}/running`;
    this.members = `${this.root}/members`;
    this.election = `${this.root}/election`;
    this.auditAll = `${this.root}/audit/all`;
    this.changes = `${this.root}/changes`;
    this.bases = [
      this.changes,
      this.jobs, this.ticks, this.settings, this.tokens, this.followups, this.running, this.members, this.election, this.auditAll,
      `${this.root}/executions`, `${this.root}/groups`, `${this.root}/assign`, `${this.root}/skips`, `${this.root}/audit/job`,
    ];
  }

  job(name: string): string {
    return `${this.jobs}/${seg(name)}`;
  }

  tick(job: string): string {
    return `${this.ticks}/${seg(job)}`;
  }

  setting(key: string): string {
    return `${this.settings}/${seg(key)}`;
  }

  token(name: string): string {
    return `${this.tokens}/${seg(name)}`;
  }

  executionsOf(job: string): string {
    return `${this.root}/executions/${seg(job)}`;
  }

  execution(job: string, id: string): string {
    return `${this.executionsOf(job)}/${seg(id)}`;
  }

  runningOf(job: string): string {
    return `${this.running}/${seg(job)}`;
  }

  runningEntry(job: string, id: string): string {
    return `${this.runningOf(job)}/${seg(id)}`;
  }

  groupsOf(job: string): string {
    return `${this.root}/groups/${seg(job)}`;
  }

  groupEntry(job: string, group: number, id: string): string {
    return `${this.groupsOf(job)}/${String(group)}@${seg(id)}`;
  }

  assignOf(node: string): string {
    return `${this.root}/assign/${seg(node)}`;
  }

  assignment(node: string, job: string, id: string): string {
    return `${this.assignOf(node)}/${seg(job)}@${seg(id)}`;
  }

  followup(job: string, group: number): string {
    return `${this.followups}/${seg(job)}@${String(group)}`;
  }

  skipsOf(job: string): string {
    return `${this.root}/skips/${seg(job)}`;
  }

  skip(job: string, id: string): string {
    return `${this.skipsOf(job)}/${seg(id)}`;
  }

  auditJobOf(job: string): string {
    return `${this.root}/audit/job/${seg(job)}`;
  }

  member(name: string): string {
    return `${this.members}/${seg(name)}`;
  }
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
