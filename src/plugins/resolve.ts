/**
 * Finding a plugin module's entry file. Paths resolve against the base directory (the config
 * file's). Package names are looked up in the node_modules folders above the base directory,
 * the way Node's ESM loader does, and the package's "exports" map is honoured with the
 * `import`, `node` and `default` conditions. Node has no public API for this from an arbitrary
 * directory (import.meta.resolve's parent argument is behind a flag; require.resolve refuses
 * import-only exports), hence the small resolver.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';

export interface ResolvedModule {
  /** Absolute path of the file to import. */
  file: string;
  /** The package's version, when the module is a package. */
  version?: string;
}

const CONDITIONS = ['import', 'node', 'default'];

export function isPathSpecifier(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec);
}

/** Throws an Error whose message says what was looked for and where. */
export function resolveModule(spec: string, baseDir: string): ResolvedModule {
  if (isPathSpecifier(spec)) {
    const file = resolvePath(baseDir, spec);
    if (!existsSync(file)) throw new Error(`file ${file} does not exist`);
    if (statSync(file).isDirectory()) return resolvePackageDir(file, '.', spec);
    return { file };
  }
  const { name, subpath } = splitSpecifier(spec);
  for (let dir = resolvePath(baseDir); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return resolvePackageDir(candidate, subpath, spec);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`package "${name}" not found in node_modules above ${baseDir} (is it installed?)`);
}

function splitSpecifier(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, n).join('/');
  if (name === '' || (n === 2 && parts.length < 2)) throw new Error(`"${spec}" is not a valid package name`);
  const rest = parts.slice(n).join('/');
  return { name, subpath: rest === '' ? '.' : `./${rest}` };
}

interface PackageJson {
  version?: unknown;
  main?: unknown;
  exports?: unknown;
}

function resolvePackageDir(dir: string, subpath: string, spec: string): ResolvedModule {
  const pkgFile = join(dir, 'package.json');
  let pkg: PackageJson = {};
  if (existsSync(pkgFile)) {
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as PackageJson;
    } catch (err) {
      throw new Error(`cannot read ${pkgFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const version = typeof pkg.version === 'string' ? pkg.version : undefined;
  let target: string | null;
  if (pkg.exports !== undefined) {
    target = exportsTarget(pkg.exports, subpath);
    if (target === null) throw new Error(`package "${spec}" exports nothing for "${subpath}" under the import/node/default conditions`);
  } else if (subpath !== '.') {
    target = subpath;
  } else {
    target = typeof pkg.main === 'string' ? pkg.main : 'index.js';
  }
  const file = resolvePath(dir, target);
  if (!existsSync(file)) throw new Error(`package "${spec}" points at ${file}, which does not exist`);
  return version === undefined ? { file } : { file, version };
}

/** The target of `subpath` in an "exports" field (exact keys and single-`*` patterns). */
function exportsTarget(exports: unknown, subpath: string): string | null {
  // "exports": "./x.js" or a conditions object without "." keys both mean the root only.
  const isSubpathMap =
    typeof exports === 'object' && exports !== null && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? conditionTarget(exports) : null;
  const map = exports as Record<string, unknown>;
  if (subpath in map) return conditionTarget(map[subpath]);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star === -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const matched = subpath.slice(prefix.length, subpath.length - suffix.length);
      return conditionTarget(value)?.replaceAll('*', matched) ?? null;
    }
  }
  return null;
}

function conditionTarget(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = conditionTarget(v);
      if (t !== null) return t;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    // Object order decides among matching conditions, as in Node.
    for (const [cond, v] of Object.entries(value as Record<string, unknown>)) {
      if (!CONDITIONS.includes(cond)) continue;
      const t = conditionTarget(v);
      if (t !== null) return t;
    }
  }
  return null;
}
