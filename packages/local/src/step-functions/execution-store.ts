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

/**
 * Keeps executions and their event history, in memory and (with a directory) on disk, so history
 * survives a restart. A running execution is written at once; later changes are batched.
 */
export class ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();
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
        this.records.set(record.executionArn, record);
      }
    }
  }

  get(executionArn: string) {
    return this.records.get(executionArn);
  }

  all() {
    return [...this.records.values()];
  }

  /** Saved synchronously: after a crash the stack must still know this execution was running. */
  add(record: ExecutionRecord) {
    this.records.set(record.executionArn, record);
    this.write(record);
  }

  /** Batched: written within 200 ms, off the event loop's critical path; `now` queues it at once. */
  changed(record: ExecutionRecord, { now = false } = {}) {
    if (!this.dir) return;
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
      });
    this.writes.set(record.executionArn, next);
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
