/**
 * Task tokens complete tasks: an execution history shows where they were, never what they are. The
 * definition puts them under `taskToken` keys (also inside JSON strings, as history details hold
 * parameters) and in the `STAGEHOOKS_TASK_TOKEN` container variable.
 */
export function redactTaskTokens(value: unknown): unknown {
  if (typeof value === 'string') {
    if (!/taskToken|STAGEHOOKS_TASK_TOKEN/.test(value)) return value;
    try {
      return JSON.stringify(redactTaskTokens(JSON.parse(value)));
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) {
    // ECS environment overrides: [{ Name: 'STAGEHOOKS_TASK_TOKEN', Value: '...' }]
    return value.map((item) =>
      item && typeof item === 'object' && (item as { Name?: unknown }).Name === 'STAGEHOOKS_TASK_TOKEN'
        ? { ...(item as object), Value: '[redacted]' }
        : redactTaskTokens(item),
    );
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key === 'taskToken' ? '[redacted]' : redactTaskTokens(inner),
      ]),
    );
  }
  return value;
}
