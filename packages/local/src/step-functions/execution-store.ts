import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RawEvent, TaskCall } from './history';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  raw: RawEvent[];
  calls: TaskCall[];
}

/** What listings need of an execution; kept in memory for every execution. */
export type ExecutionSummary = Pick<
  ExecutionRecord,
  'executionArn' | 'stateMachineArn' | 'name' | 'status' | 'startDate' | 'stopDate'
>;

const summaryOf = ({
  executionArn,
  stateMachineArn,
  name,
  status,
  startDate,
  stopDate,
}: ExecutionRecord): ExecutionSummary => ({
  executionArn,
  stateMachineArn,
  name,
  status,
  startDate,
  ...(stopDate !== undefined && { stopDate }),
});

/** Finished executions whose whole history stays in memory; older ones are read from disk when asked for. */
const RETAINED_FINISHED = 200;

/**
 * Keeps executions and their event history on disk (with a directory), so history survives a restart,
 * and in memory: a summary of every execution, the whole record of the running ones and of the most
 * recently finished. A running execution is written at once; later changes are batched.
 */
export class ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly summaries = new Map<string, ExecutionSummary>();
  /** Finished executions held whole in memory, oldest first. */
  private readonly finished = new Set<string>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** One write at a time per execution, in order, so an older version never lands after a newer one. */
  private readonly writes = new Map<string, Promise<void>>();
  private tmpCount = 0;

  constructor(private readonly dir?: string) {
    if (dir) {
      mkdirSync(dir, { recursive: true });
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
        const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ExecutionRecord;
        this.summaries.set(record.executionArn, summaryOf(record));
        // Running ones stay whole: the start after a stop must end them.
        if (record.status === 'RUNNING') this.records.set(record.executionArn, record);
      }
    }
  }

  get(executionArn: string): ExecutionRecord | undefined {
    const held = this.records.get(executionArn);
    if (held || !this.dir) return held;
    const summary = this.summaries.get(executionArn);
    if (!summary) return undefined;
    return JSON.parse(readFileSync(join(this.dir, `${summary.name}.json`), 'utf8')) as ExecutionRecord;
  }

  all(): ExecutionSummary[] {
    return [...this.summaries.values()];
  }

  /** Saved synchronously: after a crash the stack must still know this execution was running. */
  add(record: ExecutionRecord) {
    this.records.set(record.executionArn, record);
    this.summaries.set(record.executionArn, summaryOf(record));
    this.write(record);
  }

  /** Batched: written within 200 ms, off the event loop's critical path; `now` queues it at once. */
  changed(record: ExecutionRecord, { now = false } = {}) {
    this.summaries.set(record.executionArn, summaryOf(record));
    if (!this.dir) return;
    this.records.set(record.executionArn, record);
    if (now) {
      this.dirty.delete(record.executionArn);
      this.queueWrite(record);
      return;
    }
    this.dirty.add(record.executionArn);
    this.timer ??= setTimeout(() => this.writeDirty(), 200);
  }

  /** Everything pending, synchronously: for shutdown, when there is no later. */
  flush() {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const arn of this.dirty) {
      const record = this.records.get(arn);
      if (record) this.write(record);
    }
    this.dirty.clear();
  }

  /** Resolves when every queued write has landed. */
  async settled() {
    await Promise.all(this.writes.values());
  }

  private writeDirty() {
    this.timer = undefined;
    for (const arn of this.dirty) {
      const record = this.records.get(arn);
      if (record) this.queueWrite(record);
    }
    this.dirty.clear();
  }

  private queueWrite(record: ExecutionRecord) {
    const dir = this.dir;
    if (!dir) return;
    // Serialised now, written later: the file holds the record as it was at this moment.
    const text = JSON.stringify(record);
    const file = join(dir, `${record.name}.json`);
    const previous = this.writes.get(record.executionArn) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const tmp = `${file}.${++this.tmpCount}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, file);
      })
      .catch((error: unknown) =>
        console.error(`stagehooks: could not save the history of ${record.name}:`, error),
      )
      .finally(() => {
        if (this.writes.get(record.executionArn) === next) this.writes.delete(record.executionArn);
        if (record.status !== 'RUNNING') this.retire(record.executionArn);
      });
    this.writes.set(record.executionArn, next);
  }

  /** Keeps the most recent finished executions whole; older ones, once on disk, live there only. */
  private retire(executionArn: string) {
    this.finished.delete(executionArn);
    this.finished.add(executionArn);
    for (const oldest of this.finished) {
      if (this.finished.size <= RETAINED_FINISHED) break;
      if (this.writes.has(oldest)) continue;
      this.finished.delete(oldest);
      this.records.delete(oldest);
    }
  }

  private write(record: ExecutionRecord) {
    if (!this.dir) return;
    const file = join(this.dir, `${record.name}.json`);
    // Write-then-rename: a crash mid-write leaves the previous version, never half a file.
    const tmp = `${file}.${++this.tmpCount}.tmp`;
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, file);
  }
}
