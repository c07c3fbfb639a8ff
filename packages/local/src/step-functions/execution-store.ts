import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

  changed(record: ExecutionRecord, { now = false } = {}) {
    if (!this.dir) return;
    if (now) {
      this.dirty.delete(record.executionArn);
      this.write(record);
      return;
    }
    this.dirty.add(record.executionArn);
    this.timer ??= setTimeout(() => this.flush(), 200);
  }

  flush() {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const arn of this.dirty) {
      const record = this.records.get(arn);
      if (record) this.write(record);
    }
    this.dirty.clear();
  }

  private write(record: ExecutionRecord) {
    if (!this.dir) return;
    const file = join(this.dir, `${record.name}.json`);
    // Write-then-rename: a crash mid-write leaves the previous version, never half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(record));
    renameSync(`${file}.tmp`, file);
  }
}
