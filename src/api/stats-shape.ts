/** The answer of GET /v1/stats (src/api/routes/stats.ts), shared with the web UI's dashboard. */
import type { Execution } from '../job/types.js';
import type { ActivityBucket } from '../store/types.js';

export interface UpcomingRun {
  name: string;
  displayname: string;
  schedule: string;
  timezone: string;
  next: string;
}

export interface Stats {
  window: string;
  bucket_ms: number;
  jobs: { total: number; disabled: number; failing: number; success: number; untriggered: number };
  running: number;
  failed: number;
  skipped: number;
  buckets: ActivityBucket[];
  /** Newest first, without output. */
  recent_failures: Execution[];
  /** Enabled jobs by next run, soonest first. */
  upcoming: UpcomingRun[];
  leader: string | null;
  members: number;
}
