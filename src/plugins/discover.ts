/**
 * Executable plugins in --plugin-dir: files named `kairos-executor-<name>` or
 * `kairos-processor-<name>`, optionally with one extension (`.py`, `.sh`, `.exe`), which is not
 * part of the name. Names are letters, digits, `_` and `-`. Files that look like plugins but
 * cannot be one (not executable, a directory, an odd name) are skipped with a warning, so a
 * stray README or backup file never stops the agent.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve as resolvePath } from 'node:path';
import type { Logger } from '../util/log.js';

export interface DiscoveredExecutable {
  kind: 'executor' | 'processor';
  name: string;
  /** Absolute path. */
  file: string;
}

const PREFIX = /^kairos-(executor|processor)-(.+)$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Sorted by file name, so clashes and logs are the same on every start. Throws when `dir` cannot be read. */
export function discoverExecutables(dir: string, log: Logger): DiscoveredExecutable[] {
  const root = resolvePath(dir);
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch (err) {
    throw new Error(`cannot read plugin dir ${root}: ${(err as Error).message}`, { cause: err });
  }
  const found: DiscoveredExecutable[] = [];
  for (const entry of entries) {
    const m = PREFIX.exec(entry);
    if (!m) continue;
    const file = join(root, entry);
    const kind = m[1] as 'executor' | 'processor';
    const rest = m[2] as string;
    const name = rest.slice(0, rest.length - extname(rest).length);
    if (!NAME.test(name)) {
      log.warn({ file }, `skipping plugin file: "${name}" is not a valid ${kind} name (letters, digits, _ and -, plus one optional extension)`);
      continue;
    }
    let isFile: boolean;
    try {
      // stat, not lstat: a symlink to an executable is a fine way to install a plugin.
      isFile = statSync(file).isFile();
    } catch (err) {
      log.warn({ file, err: (err as Error).message }, 'skipping plugin file: cannot stat it');
      continue;
    }
    if (!isFile) {
      log.warn({ file }, 'skipping plugin file: not a regular file');
      continue;
    }
    try {
      accessSync(file, constants.X_OK);
    } catch {
      log.warn({ file }, 'skipping plugin file: not executable (chmod +x it to load it)');
      continue;
    }
    found.push({ kind, name, file });
  }
  return found;
}
