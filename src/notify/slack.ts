/**
 * Slack incoming-webhook messages in Block Kit: a header, the facts as
 * section fields (a late start: when it was due, when it started, by how much), a tail of the output, who reported it, and a button to the
 * job in the UI. Limits respected: header 150 chars, section text 3000, fields 10.
 */
import type { Notice } from './message.js';
import { durationText, finalAttempts, groupDurationMs, lateFacts, outcomeWord, summary, tail } from './message.js';

type Block = Record<string, unknown>;

const mrkdwn = (text: string, max = 2000): { type: 'mrkdwn'; text: string } => ({ type: 'mrkdwn', text: text.slice(0, max) });
/** Slack's mrkdwn escapes only these three. */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackMessage(n: Notice, channel: string | null): { text: string; channel?: string; blocks: Block[] } {
  const blocks: Block[] = [];
  const icon = n.kind === 'skip' ? ':fast_forward:' : n.kind === 'late' ? ':hourglass:' : n.status === 'success' ? ':white_check_mark:' : ':x:';
  const title = n.kind === 'skip' ? `${n.job}: tick skipped` : n.kind === 'late' ? `${n.job}: started late` : `${n.job} ${outcomeWord(n.status)}`;
  blocks.push({ type: 'header', text: { type: 'plain_text', text: `${icon} ${title}`.slice(0, 150), emoji: true } });
  const jobText = n.link ? `<${n.link}|${esc(n.job)}>` : esc(n.job);
  if (n.kind === 'late') {
    blocks.push({ type: 'section', fields: [mrkdwn(`*Job*\n${jobText}`), ...lateFacts(n).map(([k, v]) => mrkdwn(`*${k}*\n${esc(v)}`))] });
  } else if (n.kind === 'skip') {
    blocks.push({
      type: 'section',
      fields: [mrkdwn(`*Job*\n${jobText}`), mrkdwn(`*Outcome*\nskipped`), mrkdwn(`*Scheduled*\n${n.scheduledAt}`), mrkdwn(`*Reason*\n${esc(n.reason)}`)],
    });
  } else {
    const finals = finalAttempts(n.group);
    const exitCodes = [...new Set(finals.map((e) => (e.exit_code === null ? '—' : String(e.exit_code))))].join(', ');
    const attempts = Math.max(...n.group.map((e) => e.attempt));
    blocks.push({
      type: 'section',
      fields: [
        mrkdwn(`*Job*\n${jobText}`),
        mrkdwn(`*Outcome*\n${n.status}`),
        mrkdwn(`*Node${finals.length > 1 ? 's' : ''}*\n${esc(finals.map((e) => `${e.node_name}${e.success ? '' : ' (failed)'}`).join(', '))}`),
        mrkdwn(`*Duration*\n${durationText(groupDurationMs(n.group))}`),
        mrkdwn(`*Exit code*\n${exitCodes}`),
        mrkdwn(`*Attempts*\n${attempts}`),
      ],
    });
    // Escape first, then cut from the front, so the fence always closes within the 3000-character limit.
    const output = esc(tail(n.last.output).replace(/```/g, "'''")).slice(-2900);
    blocks.push({ type: 'section', text: mrkdwn(output.trim() === '' ? '_no output_' : `\`\`\`${output}\`\`\``, 3000) });
  }
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`Reported by ${esc(n.reportingNode)}${n.kind === 'group' ? ` · execution ${esc(n.last.id)} · group ${n.last.group}` : ''}`)],
  });
  if (n.link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Kairos' }, url: n.link }] });
  }
  return { text: summary(n), ...(channel ? { channel } : {}), blocks };
}
