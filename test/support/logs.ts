import type { ExecutionLogDraft } from '@stagehooks/core/domain';
import type { ExecutionLogStore } from '@stagehooks/core/ports';

let seq = 0;

/** A log draft of a passed shell run; each call starts a second after the last, so order is stable. */
export function logDraft(overrides: Partial<ExecutionLogDraft> = {}): ExecutionLogDraft {
  const startedAt = new Date(Date.parse('2026-11-20T11:00:00.000Z') + seq++ * 1000).toISOString();
  return {
    hookId: 'hook-1',
    hookName: 'color_grade',
    hookRevision: 1,
    hookType: 'shell',
    hookPoint: 'post_segment',
    jobId: 'job-1',
    executionId: 'arn:aws:states:us-east-1:000000000000:execution:stagehooks-stage:job-1-post_segment',
    invocationId: `inv-${seq}`,
    input: { jobId: 'job-1', metadata: { take: seq } },
    stdout: 'graded\n',
    stderr: '',
    outputData: null,
    patch: null,
    responseStatus: null,
    responseBody: null,
    exitCode: 0,
    status: 'passed',
    errorMessage: null,
    failureMode: 'warn',
    outcome: 'continued',
    durationMs: 12,
    startedAt,
    finishedAt: startedAt,
    test: false,
    ...overrides,
  };
}

/**
 * `logs` (a real store) whose writes first call `fault`, which throws to make that write fail; reads are
 * untouched. For the faults DynamoDB Local cannot be made to produce on cue.
 */
export function withFailingWrites(logs: ExecutionLogStore, fault: () => void): ExecutionLogStore {
  return {
    append: async (draft, id) => {
      fault();
      return logs.append(draft, id);
    },
    appendAll: async (entries) => {
      fault();
      return logs.appendAll(entries);
    },
    get: (id) => logs.get(id),
    listByHook: (hookId, filter) => logs.listByHook(hookId, filter),
    listByJob: (jobId, filter) => logs.listByJob(jobId, filter),
  };
}
