import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * The shell executor's `su` (`user[:group]`): the syntax is checked when the
 * job is saved, names are resolved on the agent that runs it (accounts can
 * differ between agents).
 */

type Problem = { field: string; message: string };

export interface SuSpec {
  user: string;
  group?: string;
}

export interface Credentials {
  uid: number;
  gid: number;
}

// Portable user/group name characters, plus '@' (directory users) and a trailing
// '$' (Samba machine accounts). A leading '-' would read as a getent option.
const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*\$?$/;

export function parseSu(raw: string | undefined): SuSpec | null | Problem {
  if (raw === undefined || raw.trim() === '') return null;
  const parts = raw.split(':');
  const [user, group] = parts;
  if (parts.length > 2 || user === undefined || !NAME.test(user) || (group !== undefined && !NAME.test(group))) {
    return {
      field: 'executor_config.su',
      message: `su must be "user" or "user:group" (names or numeric ids), got "${raw}"`,
    };
  }
  return group === undefined ? { user } : { user, group };
}

export interface ResolveOptions {
  /** Look accounts up with getent (NSS: LDAP, sssd...) before /etc files. Tests turn it off. */
  useGetent?: boolean;
}

type Db = 'passwd' | 'group';

/**
 * uid/gid for a spec; without a group, the user's primary group. Rejects
 * with a message naming the account that is not known on this host.
 */
export async function resolveSu(spec: SuSpec, options: ResolveOptions = {}): Promise<Credentials> {
  const useGetent = options.useGetent ?? true;
  const numeric = (s: string): boolean => /^\d+$/.test(s);

  const passwd = await lookup('passwd', spec.user, useGetent);
  let uid: number;
  let primaryGid: number | undefined;
  if (passwd) {
    uid = Number(passwd[2]);
    primaryGid = Number(passwd[3]);
  } else if (numeric(spec.user)) {
    // A bare uid is usable without an account (containers), but then its group must be given.
    uid = Number(spec.user);
  } else {
    throw new Error(`su: unknown user "${spec.user}" on this agent`);
  }

  let gid: number;
  if (spec.group !== undefined) {
    const group = await lookup('group', spec.group, useGetent);
    if (group) gid = Number(group[2]);
    else if (numeric(spec.group)) gid = Number(spec.group);
    else throw new Error(`su: unknown group "${spec.group}" on this agent`);
  } else if (primaryGid !== undefined) {
    gid = primaryGid;
  } else {
    throw new Error(`su: uid ${spec.user} has no account on this agent; give its group as "${spec.user}:<group>"`);
  }
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) {
    throw new Error(`su: "${spec.user}" resolved to an invalid uid/gid`);
  }
  return { uid, gid };
}

/**
 * Only root may change credentials; asking anyway would surface as a bare
 * "spawn EPERM". Switching to the agent's own uid/gid is a no-op and allowed.
 */
export function switchProblem(su: string, target: Credentials, current: Credentials): string | null {
  if (current.uid === 0) return null;
  if (target.uid === current.uid && target.gid === current.gid) return null;
  return `su: running as "${su}" (uid ${target.uid}, gid ${target.gid}) needs an agent running as root; this agent runs as uid ${current.uid}`;
}

/** The colon-separated entry for a name or numeric id, or null when there is none. */
async function lookup(db: Db, key: string, useGetent: boolean): Promise<string[] | null> {
  if (useGetent) {
    const line = await getent(db, key);
    if (line !== undefined) return line === null ? null : line.split(':');
  }
  return lookupFile(db, key);
}

/** The entry line, null when getent says "not found", undefined when getent is unusable. */
function getent(db: Db, key: string): Promise<string | null | undefined> {
  return new Promise((resolve) => {
    execFile('getent', [db, key], { timeout: 10_000 }, (err, stdout) => {
      if (!err) {
        resolve(stdout.split('\n')[0] ?? null);
        return;
      }
      // Exit status 2 is getent's "key not found"; anything else (missing binary) falls back to files.
      resolve((err as { code?: unknown }).code === 2 ? null : undefined);
    });
  });
}

async function lookupFile(db: Db, key: string): Promise<string[] | null> {
  let text: string;
  try {
    text = await readFile(`/etc/${db}`, 'utf8');
  } catch {
    return null;
  }
  const byId = /^\d+$/.test(key);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    // As getent does: an all-digit key is an id, anything else a name.
    if (byId ? fields[2] === key : fields[0] === key) return fields;
  }
  return null;
}
