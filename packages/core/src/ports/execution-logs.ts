import type { ExecutionLog, ExecutionLogDraft, ExecutionStatus } from '../domain';
import type { Page, PageRequest } from './pages';

export interface LogListFilter extends PageRequest {
  status?: ExecutionStatus | undefined;
}

/** The execution log port. Reads never return an item whose retention has passed. */
export interface ExecutionLogStore {
  /**
   * Writes one log. With an `id`, writing the same id again returns the stored log instead of a
   * second one, so a retried step cannot log an execution twice.
   */
  append(draft: ExecutionLogDraft, id?: string): Promise<ExecutionLog>;
  /**
   * Several logs with ids at once. Unlike `append`, writing an id again replaces the log: for the same
   * execution and position recorded again (a retried step), never where an earlier log must stand.
   */
  appendAll(entries: Array<{ draft: ExecutionLogDraft; id: string }>): Promise<ExecutionLog[]>;
  get(id: string): Promise<ExecutionLog | undefined>;
  /** Newest first. */
  listByHook(hookId: string, filter?: LogListFilter): Promise<Page<ExecutionLog>>;
  /** In the order the executions started. */
  listByJob(jobId: string, filter?: LogListFilter): Promise<Page<ExecutionLog>>;
}
