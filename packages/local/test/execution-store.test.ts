import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecutionRecord, ExecutionStore } from '@stagehooks/local/step-functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stagehooks-executions-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const record = (name: string, status: ExecutionRecord['status']): ExecutionRecord => ({
  executionArn: `arn:aws:states:us-east-1:000000000000:execution:m:${name}`,
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m',
  name,
  status,
  startDate: Date.now(),
  input: JSON.stringify({ name }),
  raw: [{ type: 'ExecutionStarted', timestamp: Date.now(), input: { name } }],
  calls: [],
});

describe('ExecutionStore', () => {
  it('keeps every execution readable, from memory or disk, and across a restart', async () => {
    // Prepare: more finished executions than it keeps whole in memory, and one still running
    const store = new ExecutionStore(dir);
    for (let i = 0; i < 260; i++) {
      const r = record(`done-${i}`, 'RUNNING');
      store.add(r);
      r.status = 'SUCCEEDED';
      r.output = JSON.stringify({ i });
      store.changed(r);
    }
    store.add(record('still-running', 'RUNNING'));

    // Act
    const oldest = store.get(record('done-0', 'SUCCEEDED').executionArn);
    const restarted = new ExecutionStore(dir);

    // Assess
    expect(oldest).toMatchObject({
      status: 'SUCCEEDED',
      output: '{"i":0}',
      raw: [{ type: 'ExecutionStarted' }],
    });
    expect(store.all()).toHaveLength(261);
    expect(
      restarted
        .all()
        .filter((s) => s.status === 'RUNNING')
        .map((s) => s.name),
    ).toEqual(['still-running']);
    expect(restarted.get(record('done-259', 'SUCCEEDED').executionArn)?.output).toBe('{"i":259}');
  });

  it('has every reported event on disk at once, and drops a line cut short by a crash', async () => {
    // Prepare: a running execution with a task call under way
    const store = new ExecutionStore(dir);
    const r = record('crashing', 'RUNNING');
    store.add(r);
    r.raw.push({ type: 'StateEntered', timestamp: Date.now(), state: { name: 'RunWebhook', type: 'Task' } });
    r.calls.push({
      state: 'RunWebhook',
      resource: 'arn:x',
      parameters: { a: 1 },
      timeoutSeconds: 90,
      startedAt: 1,
    });
    store.changed(r);
    r.calls[0]!.endedAt = 2;
    r.calls[0]!.output = { run: { index: 1 } };
    r.raw.push({
      type: 'StateExited',
      timestamp: Date.now(),
      state: { name: 'RunWebhook', type: 'Task', output: { run: { index: 1 } } },
    });
    store.changed(r);
    // The process dies in the middle of writing its next line
    await appendFile(join(dir, 'crashing.jsonl'), '{"event":{"type":"StateEnt');

    // Act: a new process reads the journal, nothing flushed or closed
    const restarted = new ExecutionStore(dir);

    // Assess
    const recovered = restarted.get(r.executionArn);
    expect(recovered?.status).toBe('RUNNING');
    expect(recovered?.raw.map((e) => e.type)).toEqual(['ExecutionStarted', 'StateEntered', 'StateExited']);
    expect(recovered?.raw.at(-1)?.state?.output).toEqual({ run: { index: 1 } });
    expect(recovered?.calls).toEqual([{ ...r.calls[0] }]);
  });

  it('writes each state data once: the input of the next state and the output of a Choice are the same object', async () => {
    // Prepare: data flowing through a Task and a Choice, as the emulator passes it on
    const store = new ExecutionStore(dir);
    const r = record('flowing', 'RUNNING');
    store.add(r);
    const before = { run: { index: 0 }, filler: 'x'.repeat(10_000) };
    const after = { run: { index: 1 }, filler: 'y'.repeat(10_000) };
    const at = Date.now();
    r.raw.push(
      { type: 'StateEntered', timestamp: at, state: { name: 'RunWebhook', type: 'Task', input: before } },
      { type: 'StateExited', timestamp: at, state: { name: 'RunWebhook', type: 'Task', output: after } },
      { type: 'StateEntered', timestamp: at, state: { name: 'NextHook?', type: 'Choice', input: after } },
      { type: 'StateExited', timestamp: at, state: { name: 'NextHook?', type: 'Choice', output: after } },
    );

    // Act
    store.changed(r);
    const journal = await readFile(join(dir, 'flowing.jsonl'), 'utf8');
    const restarted = new ExecutionStore(dir);

    // Assess: two of the four data written, all four read back
    expect(journal.length).toBeLessThan(25_000);
    expect(restarted.get(r.executionArn)?.raw).toEqual(r.raw);
  });

  it('writes the run state a Task is called with, and the one it returns, once each', async () => {
    // Prepare: a Task called with the state's run ("run.$": "$.run") whose result becomes the output's run
    const store = new ExecutionStore(dir);
    const r = record('calling', 'RUNNING');
    store.add(r);
    const input = { stage: { jobId: 'j' }, run: { index: 0, filler: 'x'.repeat(10_000) }, after: 1 };
    const result = { index: 1, filler: 'y'.repeat(10_000) };
    const at = Date.now();
    r.raw.push({ type: 'StateEntered', timestamp: at, state: { name: 'RunWebhook', type: 'Task', input } });
    store.changed(r);
    r.calls.push({
      state: 'RunWebhook',
      resource: 'arn:x',
      parameters: { stage: input.stage, run: input.run, index: 0 },
      timeoutSeconds: 90,
      startedAt: at,
      endedAt: at,
      output: result,
    });
    store.changed(r);
    r.raw.push({
      type: 'StateExited',
      timestamp: at,
      state: { name: 'RunWebhook', type: 'Task', output: { stage: { jobId: 'j' }, run: result, after: 1 } },
    });
    store.changed(r);

    // Act
    const journal = await readFile(join(dir, 'calling.jsonl'), 'utf8');
    const restarted = new ExecutionStore(dir).get(r.executionArn);

    // Assess: each 10 KB run written once, and all of it read back, keys in their order
    expect(journal.length).toBeLessThan(22_000);
    expect(JSON.stringify(restarted?.raw)).toBe(JSON.stringify(r.raw));
    expect(JSON.stringify(restarted?.calls)).toBe(JSON.stringify(r.calls));
  });

  it('turns the whole-record files of an earlier version into journals, running ones still running', async () => {
    // Prepare: a folder as the previous version left it
    const old = await mkdtemp(join(tmpdir(), 'stagehooks-executions-old-'));
    const running = record('old-running', 'RUNNING');
    const done = { ...record('old-done', 'SUCCEEDED'), output: '{"ok":true}', stopDate: Date.now() };
    await writeFile(join(old, 'old-running.json'), JSON.stringify(running));
    await writeFile(join(old, 'old-done.json'), JSON.stringify(done));

    // Act: start, end the running one as recovery does, start again
    const first = new ExecutionStore(old);
    const recovered = first.get(running.executionArn) as ExecutionRecord;
    recovered.raw.push({ type: 'ExecutionFailed', timestamp: Date.now(), Error: 'Local.Interrupted' });
    recovered.status = 'FAILED';
    first.changed(recovered);
    const second = new ExecutionStore(old);

    // Assess
    expect((await readdir(old)).sort()).toEqual(['old-done.jsonl', 'old-running.jsonl']);
    expect(
      second
        .all()
        .map((e) => [e.name, e.status])
        .sort(),
    ).toEqual([
      ['old-done', 'SUCCEEDED'],
      ['old-running', 'FAILED'],
    ]);
    expect(second.get(running.executionArn)?.raw.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
    ]);
    expect(second.get(done.executionArn)?.output).toBe('{"ok":true}');
    await rm(old, { recursive: true, force: true });
  });
});
