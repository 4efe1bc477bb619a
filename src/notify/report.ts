/**
 * dkron's notification data: the template variables and the multi-line
 * `Report`, rendered as dkron's notifier.go renders them (times with Go's
 * time.Time String(), booleans as true/false).
 */
import type { Execution } from '../job/types.js';
import { GoTime, goTimeString, type TemplateData } from './template.js';

export const TEMPLATE_FIELDS = ['Report', 'JobName', 'ReportingNode', 'StartTime', 'FinishedAt', 'Success', 'NodeName', 'Output'] as const;

function goTime(iso: string | null): Date {
  // dkron's zero time.Time for an unset finish prints as year 1.
  return new Date(iso ?? '0001-01-01T00:00:00Z');
}

/** dkron's Notifier.report(). */
export function dkronReport(execution: Execution, group: Execution[], reportingNode: string): string {
  let groupLines = '';
  for (const ex of group) {
    groupLines += `\t[Node]: ${ex.node_name} [Start]: ${goTimeString(goTime(ex.started_at))} [End]: ${goTimeString(goTime(ex.finished_at))} [Success]: ${String(ex.success)}\n`;
  }
  return (
    `Executed: ${execution.job_name}\n` +
    `Reporting node: ${reportingNode}\n` +
    `Start time: ${goTimeString(goTime(execution.started_at))}\n` +
    `End time: ${goTimeString(goTime(execution.finished_at))}\n` +
    `Success: ${String(execution.success)}\n` +
    `Node: ${execution.node_name}\n` +
    `Output: ${execution.output}\n` +
    `Execution group: ${execution.group}\n` +
    groupLines
  );
}

export function templateData(execution: Execution, group: Execution[], reportingNode: string): TemplateData {
  return {
    Report: dkronReport(execution, group, reportingNode),
    JobName: execution.job_name,
    ReportingNode: reportingNode,
    StartTime: new GoTime(goTime(execution.started_at)),
    FinishedAt: new GoTime(goTime(execution.finished_at)),
    Success: String(execution.success),
    NodeName: execution.node_name,
    Output: execution.output,
  };
}
