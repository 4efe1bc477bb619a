/** An executor's ExecutionRequest for tests that call an executor directly; `extra` overrides any field. */
import type { ExecutionRequest } from '../../src/executors/types.js';

export function executionRequest(config: Record<string, string>, extra: Partial<ExecutionRequest> = {}): ExecutionRequest {
  return {
    jobName: 'job-1',
    executionId: 'exec-1',
    nodeName: 'node-a',
    attempt: 1,
    scheduledAt: new Date('2024-05-06T07:08:09.010Z'),
    config,
    outputLimit: 64 * 1024,
    signal: new AbortController().signal,
    ...extra,
  };
}
