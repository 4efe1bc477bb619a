/**
 * The store-and-cluster contract every backend runs, so backends cannot drift:
 * a backend's test file builds a ContractHarness and calls backendContract(harness).
 * Cases a backend cannot have (no execution queue, no cluster, no server to restart)
 * are skipped for it, with the reason in the report. Backend-specific behaviour
 * (files, schema, transaction limits, TLS) stays in that backend's unit tests.
 */
import { jobsCases } from './jobs-cases.js';
import { executionsCases } from './executions-cases.js';
import { dispatchCases } from './dispatch-cases.js';
import { recordsCases } from './records-cases.js';
import { restartCases, watchCases } from './watch-cases.js';
import { clusterCases } from './cluster-cases.js';
import type { ContractHarness } from './harness.js';

export type { ClusterHarness, ContractHarness, StoreOptions } from './harness.js';

/** Registers every shared case with node:test, in file order (the server restart last). */
export function backendContract(harness: ContractHarness): void {
  jobsCases(harness);
  executionsCases(harness);
  dispatchCases(harness);
  recordsCases(harness);
  watchCases(harness);
  clusterCases(harness);
  restartCases(harness);
}
