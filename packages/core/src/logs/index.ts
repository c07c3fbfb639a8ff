import { CAPTURE_LIMIT_BYTES, type ExecutionLogDraft } from '../domain';

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export function expiryOf(finishedAt: string, retentionDays: number): Date {
  return new Date(Date.parse(finishedAt) + retentionDays * DAY_MS);
}

/** Cuts `text` to at most `limitBytes` of UTF-8 without splitting a character. */
export function boundText(text: string, limitBytes = CAPTURE_LIMIT_BYTES): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return { text, cut: false };
  let end = limitBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), cut: true };
}

const boundNullable = (text: string | null) => (text === null ? { text: null, cut: false } : boundText(text));

/** Bounds every captured field of a draft; `truncated` says whether anything was cut. */
export function boundDraft(draft: ExecutionLogDraft): ExecutionLogDraft & { truncated: boolean } {
  const stdout = boundNullable(draft.stdout);
  const stderr = boundNullable(draft.stderr);
  const responseBody = boundNullable(draft.responseBody);
  const errorMessage = boundNullable(draft.errorMessage);
  const inputJson = JSON.stringify(draft.input ?? null);
  const input = boundText(inputJson);
  return {
    ...draft,
    // An input over the bound is kept as its cut JSON text rather than dropped.
    input: input.cut ? input.text : draft.input,
    stdout: stdout.text,
    stderr: stderr.text,
    responseBody: responseBody.text,
    errorMessage: errorMessage.text,
    truncated:
      (draft.truncated ?? false) ||
      stdout.cut ||
      stderr.cut ||
      responseBody.cut ||
      errorMessage.cut ||
      input.cut,
  };
}
