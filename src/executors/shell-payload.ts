/**
 * The shell executor's `payload`: base64 bytes written to the job's stdin.
 */

type Problem = { field: string; message: string };

// Standard alphabet with padding, as Go's base64.StdEncoding, which dkron uses.
// Kept free of repeated groups: those overflow V8's regexp stack on payloads of megabytes.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The decoded bytes, null when there is no payload, or the validation
 * problem. Node's decoder silently skips bad characters, so the text is
 * checked first; line breaks are ignored, as Go's decoder does.
 */
export function parsePayload(raw: string | undefined): Buffer | null | Problem {
  if (raw === undefined || raw === '') return null;
  const compact = raw.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !BASE64_CHARS.test(compact)) {
    const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
    return {
      field: 'executor_config.payload',
      message: `payload must be standard padded base64, got "${shown}"`,
    };
  }
  return Buffer.from(compact, 'base64');
}
