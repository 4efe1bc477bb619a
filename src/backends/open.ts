/**
 * Opens the backend an agent's options name. The agent and the local admin
 * commands (`kairos token`) share it, so both reach the same data the same way.
 */
import type { Backend, BackendOptions } from './types.js';
import type { Logger } from '../util/log.js';
import { findBackend } from './catalog.js';

export async function openBackend(name: string, options: BackendOptions, log?: Logger): Promise<Backend> {
  const entry = findBackend(name);
  // The config parser already refused unknown names; this guards direct callers.
  if (!entry) throw new Error(`unknown backend "${name}"`);
  const module = await entry.load();
  return module.open(options, log ? { log } : {});
}
