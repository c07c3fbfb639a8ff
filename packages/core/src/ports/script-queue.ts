import type { ScriptTestJob } from '../domain';

/** One message of the script queue, as the pool sees it. */
export interface QueuedJob {
  messageId: string;
  receiptHandle: string;
  /** JSON `{ taskToken, job }`, as RunScriptInPool sends it, or `{ testRun }` (a ScriptTestJob) from the admin API. */
  body: string;
}

/** Where the pool runner takes its jobs from (SQS on AWS). */
export interface ScriptJobQueue {
  /** Long-polls for up to `max` jobs; returns [] when `signal` cuts the poll short. */
  receive(request: {
    max: number;
    waitSeconds: number;
    visibilitySeconds: number;
    signal?: AbortSignal;
  }): Promise<QueuedJob[]>;
  /** Keeps a running job's message hidden from other runners for `seconds` more. */
  extendVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Hands a job that will not run here back to the queue at once. */
  release(receiptHandle: string): Promise<void>;
  delete(receiptHandle: string): Promise<void>;
}

/**
 * Where the admin API sends a script hook's test run: the pool runner's queue on AWS, the stack's own
 * runner locally. Whoever runs it logs it under `job.input.invocationId`, with `test: true`.
 */
export interface ScriptTestQueue {
  submit(job: ScriptTestJob): Promise<void>;
}
