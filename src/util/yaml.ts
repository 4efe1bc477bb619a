/**
 * The `yaml` package, loaded on first use: ~45 ms of every agent start-up that only YAML output,
 * `kairos export` and YAML config files need (measured with --cpu-prof; BENCHMARKS.md).
 */
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';

type Yaml = typeof YamlModule;
let loaded: Yaml | undefined;

export function yaml(): Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as Yaml;
  return loaded;
}
