import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
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
 * One line of an execution's journal (`<name>.jsonl`): the header, then each event as it happened,
 * each task call once it ended, and the end.
 */
type JournalLine =
  | { header: Omit<ExecutionRecord, 'raw' | 'calls'> }
  /**
   * `same`: the state data is the one written last (a state's input is the output of the state before
   * it, and a Choice passes its input on): written once, not once per event.
   */
  | {
      event: RawEvent;
      same?: 'input' | 'output';
      /** The output's `fromCall` key is the output of the call written last (a Task's ResultPath). */
      fromCall?: string;
    }
  /** `fromData`: these keys of the call's parameters are those of the state data written last. */
  | { call: TaskCall; at: number; fromData?: string[] }
  | { end: Pick<ExecutionRecord, 'status' | 'stopDate' | 'output' | 'error' | 'cause'> };

/** How much of a record its journal holds. */
interface Written {
  fd: number | undefined;
  events: number;
  /** How many calls, in order, are written (each once it ended; the machine runs one at a time). */
  calls: number;
  /** The state data the last event line carried, by reference. */
  lastData?: unknown;
  /** The output of the call written last, by reference. */
  lastCallOutput?: unknown;
}

/**
 * Keeps executions and their event history on disk (with a directory), so history survives a restart,
 * and in memory: a summary of every execution, the whole record of the running ones and of the most
 * recently finished. Each execution has a journal that grows by a line per event, written at once
 * (synchronously, without fsync): when the process dies, every event that happened before is on disk,
 * the last state's data included. A line is written once, so the cost grows with the events, not with
 * the square of them.
 */
export class ExecutionStore {
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly summaries = new Map<string, ExecutionSummary>();
  /** Finished executions held whole in memory, oldest first. */
  private readonly finished = new Set<string>();
  private readonly written = new Map<string, Written>();
  private closed = false;

  constructor(private readonly dir?: string) {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(dir)) {
      const record = readRecord(join(dir, file));
      if (!record) continue;
      // A whole-record file of an earlier version becomes a journal, so later changes have one to go to.
      if (file.endsWith('.json')) this.migrate(record, join(dir, file));
      this.summaries.set(record.executionArn, summaryOf(record));
      // Running ones stay whole: the start after a stop must end them.
      if (record.status === 'RUNNING') {
        this.records.set(record.executionArn, record);
        this.written.set(record.executionArn, {
          fd: undefined,
          events: record.raw.length,
          calls: record.calls.filter((call) => call.endedAt !== undefined).length,
        });
      }
    }
  }

  get(executionArn: string): ExecutionRecord | undefined {
    const held = this.records.get(executionArn);
    if (held || !this.dir) return held;
    const summary = this.summaries.get(executionArn);
    if (!summary) return undefined;
    return readRecord(join(this.dir, `${summary.name}.jsonl`));
  }

  all(): ExecutionSummary[] {
    return [...this.summaries.values()];
  }

  add(record: ExecutionRecord) {
    this.records.set(record.executionArn, record);
    this.summaries.set(record.executionArn, summaryOf(record));
    if (!this.dir) return;
    const { raw: _raw, calls: _calls, ...header } = record;
    this.written.set(record.executionArn, { fd: undefined, events: 0, calls: 0 });
    this.append(record, [{ header }]);
    this.changed(record);
  }

  /** Writes what happened since the last call: new events, started and ended calls, the end. */
  changed(record: ExecutionRecord) {
    this.summaries.set(record.executionArn, summaryOf(record));
    if (!this.dir || this.closed) return;
    this.records.set(record.executionArn, record);
    // Every running execution has a journal entry (from `add` or the start's load); a finished one is done.
    const written = this.written.get(record.executionArn);
    if (!written) return;
    const lines: JournalLine[] = [];
    for (; written.events < record.raw.length; written.events++) {
      lines.push(journalLine(record.raw[written.events] as RawEvent, written));
    }
    for (; written.calls < record.calls.length; written.calls++) {
      const call = record.calls[written.calls] as TaskCall;
      if (call.endedAt === undefined) break;
      lines.push(journalCall(call, written.calls, written));
    }
    const { status, stopDate, output, error, cause } = record;
    if (status !== 'RUNNING') lines.push({ end: { status, stopDate, output, error, cause } });
    if (lines.length > 0) this.append(record, lines);
    if (status !== 'RUNNING') {
      if (written.fd !== undefined) closeSync(written.fd);
      this.written.delete(record.executionArn);
      this.retire(record.executionArn);
    }
  }

  /** Closes the journals still open (running executions stay RUNNING on disk, as after a crash). */
  close() {
    this.closed = true;
    for (const written of this.written.values()) {
      if (written.fd !== undefined) closeSync(written.fd);
      written.fd = undefined;
    }
  }

  private migrate(record: ExecutionRecord, file: string) {
    const { raw, calls, ...header } = record;
    const lines: JournalLine[] = [
      { header: { ...header, status: 'RUNNING' } },
      ...raw.map((event) => ({ event })),
      ...calls.flatMap((call, at) => (call.endedAt === undefined ? [] : [{ call, at }])),
    ];
    const { status, stopDate, output, error, cause } = record;
    if (status !== 'RUNNING') lines.push({ end: { status, stopDate, output, error, cause } });
    const journal = `${file}l`;
    writeFileSync(`${journal}.tmp`, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    renameSync(`${journal}.tmp`, journal);
    unlinkSync(file);
  }

  private append(record: ExecutionRecord, lines: JournalLine[]) {
    const written = this.written.get(record.executionArn);
    if (!this.dir || !written) return;
    written.fd ??= openSync(join(this.dir, `${record.name}.jsonl`), 'a');
    writeSync(written.fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  }

  /** Keeps the most recent finished executions whole; older ones live on disk only. */
  private retire(executionArn: string) {
    this.finished.delete(executionArn);
    this.finished.add(executionArn);
    for (const oldest of this.finished) {
      if (this.finished.size <= RETAINED_FINISHED) break;
      this.finished.delete(oldest);
      this.records.delete(oldest);
    }
  }
}

/** An event's line, its state data left out when it is the data written last (the same object). */
function journalLine(event: RawEvent, written: Written): JournalLine {
  const state = event.state;
  if (!state) return { event };
  const key = event.type === 'StateEntered' ? 'input' : event.type === 'StateExited' ? 'output' : undefined;
  if (key === undefined || !(key in state)) return { event };
  const data = state[key];
  const same = written.lastData !== undefined && data === written.lastData;
  written.lastData = data;
  if (!same) {
    // A Task's output holds its call's output (ResultPath): written with the call, not again here.
    const fromCall =
      key === 'output' && isObject(data) && isObject(written.lastCallOutput)
        ? Object.keys(data).find((name) => data[name] === written.lastCallOutput)
        : undefined;
    if (fromCall === undefined || !isObject(data)) return { event };
    // The key stays where it is, with a stand-in the reader replaces: the output keeps its key order.
    return { event: { ...event, state: { ...state, output: { ...data, [fromCall]: null } } }, fromCall };
  }
  const { [key]: _data, ...rest } = state;
  return { event: { ...event, state: rest }, same: key };
}

/** A call's line: parameters taken whole from the state data (`"run.$": "$.run"`) are not written again. */
function journalCall(call: TaskCall, at: number, written: Written): JournalLine {
  written.lastCallOutput = call.output;
  const { parameters } = call;
  const data = written.lastData;
  if (!isObject(parameters) || !isObject(data)) return { call, at };
  const fromData = Object.keys(parameters).filter(
    (name) => isObject(parameters[name]) && parameters[name] === data[name],
  );
  if (fromData.length === 0) return { call, at };
  const stood = Object.fromEntries(
    Object.entries(parameters).map(([name, value]) => [name, fromData.includes(name) ? null : value]),
  );
  return { call: { ...call, parameters: stood }, at, fromData };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An execution from its journal (or from a whole-record `.json` file of an earlier version). A line cut
 * short by a crash mid-write is the last one, and is left out.
 */
function readRecord(file: string): ExecutionRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (file.endsWith('.json')) return JSON.parse(text) as ExecutionRecord;
  if (!file.endsWith('.jsonl')) return undefined;
  let record: ExecutionRecord | undefined;
  let lastData: unknown;
  let lastCallOutput: unknown;
  for (const text_ of text.split('\n')) {
    if (!text_) continue;
    let line: JournalLine;
    try {
      line = JSON.parse(text_) as JournalLine;
    } catch {
      break;
    }
    if ('header' in line) record = { ...line.header, raw: [], calls: [] };
    else if (!record) return undefined;
    else if ('event' in line) {
      const { event } = line;
      if (line.fromCall && event.state && isObject(event.state.output)) {
        event.state.output[line.fromCall] = lastCallOutput;
      }
      if (line.same && event.state) event.state[line.same] = lastData;
      else if (event.type === 'StateEntered' && event.state && 'input' in event.state)
        lastData = event.state.input;
      else if (event.type === 'StateExited' && event.state && 'output' in event.state)
        lastData = event.state.output;
      record.raw.push(event);
    } else if ('call' in line) {
      const { call } = line;
      if (line.fromData && isObject(call.parameters) && isObject(lastData)) {
        for (const name of line.fromData) call.parameters[name] = lastData[name];
      }
      lastCallOutput = call.output;
      record.calls[line.at] = call;
    } else if ('end' in line) Object.assign(record, line.end);
  }
  return record;
}
