import { setTimeout as sleep } from 'node:timers/promises';
import { testHook, testRunOf } from '@stagehooks/core/admin';
import type { Hook, HookInput, HookRunResult, ScriptTestJob } from '@stagehooks/core/domain';
import { DynamoExecutionLogStore, DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import { newTestRunId, ScriptTests, testInputOf } from '@stagehooks/core/engine';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import type { ScriptTestQueue, WebhookSender } from '@stagehooks/core/ports';
import { createTestTable } from '@test/dynamodb';
import { hookCreate, hookReplace } from '@test/hooks';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let registry: DynamoHookRegistry;
let logs: DynamoExecutionLogStore;
let tests: ScriptTests;

beforeAll(async () => {
  table = await createTestTable();
  registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
  logs = new DynamoExecutionLogStore(table.doc, { tableName: table.tableName });
  tests = new ScriptTests({ registry, logs, scripts: new ProcessScriptRunner({ sandbox: 'none' }) });
});
afterAll(() => table.drop());

const defineScript = async (name: string, script: string) =>
  (
    await registry.create(
      hookCreate({ name, scopeType: 'project', scopeId: 'p-test', config: { script } }),
      't',
    )
  ).hook;

/** The script runner's queue as the local stack serves it: each job starts at once, in this process. */
const runnerQueue: ScriptTestQueue = {
  submit: async (job) => {
    void tests.run(job);
  },
};
const noWebhooks: WebhookSender = {
  send: () => Promise.reject(new Error('no webhook is sent in these tests')),
};
const deps = () => ({ registry, logs, webhooks: noWebhooks, scriptTests: runnerQueue });

function jobOf(hook: Hook, invocationId = newTestRunId()): ScriptTestJob {
  if (hook.type === 'webhook') throw new Error('a script hook, please');
  const { id, name, revision, type, failureMode } = hook;
  return {
    hook: { id, name, revision, type, failureMode },
    input: { ...testInputOf(hook, {}, invocationId), test: true },
  };
}

describe('testHook, a script', () => {
  it('hands the run to the script runner and answers with the log it wrote', async () => {
    // Prepare
    const hook = await defineScript('quick', 'read -r input; echo "job=$STAGEHOOKS_JOB_ID"; exit 3');

    // Act
    const run = await testHook(deps(), hook, { jobId: 'job-try' }, { waitMs: 10_000 });

    // Assess
    if (run.status !== 'finished') throw new Error(`expected a finished run, got ${run.status}`);
    expect(run.log).toMatchObject({
      hookId: hook.id,
      test: true,
      executionId: null,
      status: 'failed',
      exitCode: 3,
      stdout: 'job=job-try\n',
      outcome: 'warned',
    });
    expect(run.log.id).toBe(run.log.invocationId);
    expect(run.input).toMatchObject({ test: true, jobId: 'job-try', hook: { id: hook.id } });
  });

  it('answers running past its wait; the run is read later by its id, once it has ended', async () => {
    // Prepare
    const hook = await defineScript('slow', 'sleep 1; echo late');

    // Act
    const started = Date.now();
    const run = await testHook(deps(), hook, {}, { waitMs: 200 });
    const waited = Date.now() - started;

    // Assess
    if (run.status !== 'running') throw new Error(`expected a running run, got ${run.status}`);
    expect(waited).toBeLessThan(900);
    expect(run.logId).toMatch(/^test\./);
    expect(await testRunOf({ logs }, hook, run.logId)).toEqual({ status: 'running', logId: run.logId });
    let later = await testRunOf({ logs }, hook, run.logId);
    for (let i = 0; later?.status !== 'finished' && i < 100; i++) {
      await sleep(100);
      later = await testRunOf({ logs }, hook, run.logId);
    }
    expect(later).toMatchObject({
      status: 'finished',
      log: { id: run.logId, status: 'passed', stdout: 'late\n' },
    });
  });
});

/** A webhook sender that answers every hook with `report` (its data and patch) and keeps what it sent. */
function reportingSender(report: Pick<HookRunResult, 'data' | 'patch'>) {
  const sent: HookInput[] = [];
  const sender: WebhookSender = {
    send: async (_hook, input) => {
      sent.push(input);
      const at = new Date().toISOString();
      return {
        status: 'passed',
        exitCode: null,
        stdout: null,
        stderr: null,
        responseStatus: 200,
        responseBody: JSON.stringify(report),
        errorMessage: null,
        truncated: false,
        startedAt: at,
        finishedAt: at,
        durationMs: 1,
        ...report,
      };
    },
  };
  return { sender, sent };
}

const defineWebhook = async (name: string, fields: Record<string, unknown> = {}) =>
  (
    await registry.create(
      hookCreate({
        name,
        type: 'webhook',
        scopeType: 'project',
        scopeId: 'p-test',
        config: { url: 'https://hooks.example.com/t' },
        ...fields,
      }),
      't',
    )
  ).hook;

describe('testHook, data, patches and conditions', () => {
  const report = { data: { score: 0.9 }, patch: { metadata: { graded: true } } };

  it('logs the data and patch a passed run returns, and hands the given outputs to the hook', async () => {
    // Prepare
    const hook = await defineWebhook('reports');
    const { sender, sent } = reportingSender(report);
    const outputs = { lint: { ok: true } };

    // Act
    const run = await testHook({ ...deps(), webhooks: sender }, hook, { outputs }, { waitMs: 1_000 });

    // Assess
    if (run.status !== 'finished') throw new Error(`expected a finished run, got ${run.status}`);
    expect(run.log).toMatchObject({ status: 'passed', outputData: report.data, patch: report.patch });
    expect(sent[0]?.outputs).toEqual(outputs);
    expect(run.input).toMatchObject({ outputs });
    expect(run.condition).toBeNull();
  });

  it('fails a run whose data does not match the outputSchema, naming the path, and applies no patch', async () => {
    // Prepare
    const outputSchema = { type: 'object', properties: { score: { type: 'string' } } };
    const hook = await defineWebhook('schema_checked', { outputSchema });

    // Act
    const run = await testHook(
      { ...deps(), webhooks: reportingSender(report).sender },
      hook,
      {},
      { waitMs: 1_000 },
    );

    // Assess
    if (run.status !== 'finished') throw new Error(`expected a finished run, got ${run.status}`);
    expect(run.log).toMatchObject({ status: 'failed', outputData: report.data, patch: null });
    expect(run.log.errorMessage).toMatch(/data does not match outputSchema: data\.score/);
  });

  it('says whether the input matches the hook’s when, and runs the hook either way', async () => {
    // Prepare
    const when = { metadata: { resolution: ['4k'] } };
    const hook = await defineWebhook('conditional', { when });
    const { sender, sent } = reportingSender({});
    const testDeps = { ...deps(), webhooks: sender };

    // Act
    const matching = await testHook(testDeps, hook, { metadata: { resolution: '4k' } }, { waitMs: 1_000 });
    const other = await testHook(testDeps, hook, { metadata: { resolution: 'hd' } }, { waitMs: 1_000 });
    const later = await testRunOf({ logs }, hook, other.status === 'finished' ? other.log.id : '');

    // Assess
    expect(matching).toMatchObject({ status: 'finished', condition: { when, matched: true } });
    expect(other).toMatchObject({ status: 'finished', condition: { when, matched: false } });
    expect(other.status === 'finished' && other.log.status).toBe('passed');
    expect(sent).toHaveLength(2);
    expect(later).toMatchObject({ status: 'finished', condition: { when, matched: false } });
  });

  it('checks a script’s data against its outputSchema on the runner’s side', async () => {
    // Prepare
    const hook = (
      await registry.create(
        hookCreate({
          name: 'script_data',
          scopeType: 'project',
          scopeId: 'p-test',
          outputSchema: { type: 'object', properties: { count: { type: 'integer' } }, required: ['count'] },
          config: { script: `echo '{"status":"passed","data":{"size":3}}'` },
        }),
        't',
      )
    ).hook;

    // Act
    const logged = await tests.run(jobOf(hook));

    // Assess
    expect(logged).toMatchObject({ status: 'failed', outputData: { size: 3 } });
    expect(logged.errorMessage).toMatch(
      /data does not match outputSchema: data: must have required property 'count'/,
    );
  });
});

describe('testRunOf', () => {
  it('knows no run of another hook, no id that is not a test run’s, and none unlogged past its last end', async () => {
    // Prepare
    const hook = await defineScript('read_later', 'echo ok');
    const other = await defineScript('other', 'echo other');
    const logged = await tests.run(jobOf(hook));
    const lost = newTestRunId();

    // Act and assess
    expect(await testRunOf({ logs }, hook, logged.id)).toMatchObject({ status: 'finished' });
    expect(await testRunOf({ logs }, other, logged.id)).toBeUndefined();
    expect(await testRunOf({ logs }, hook, 'job-1.0')).toBeUndefined();
    expect(await testRunOf({ logs }, hook, lost)).toEqual({ status: 'running', logId: lost });
    expect(await testRunOf({ logs }, hook, lost, new Date(Date.now() + 24 * 3600_000))).toBeUndefined();
  });
});

describe('ScriptTests, the runner’s side', () => {
  it('runs a job once: delivered again, it returns the log written the first time', async () => {
    // Prepare
    const hook = await defineScript('once', 'echo "$RANDOM$RANDOM"');
    const job = jobOf(hook);

    // Act
    const first = await tests.run(job);
    const again = await tests.run(job);

    // Assess
    expect(again).toEqual(first);
    expect((await logs.listByHook(hook.id)).items).toHaveLength(1);
  });

  it('runs only the revision the API authorized, and logs a deleted hook’s test as error', async () => {
    // Prepare
    const changed = await defineScript('changed', 'echo first');
    const job = jobOf(changed);
    await registry.replace(changed.id, hookReplace(changed, { config: { script: 'echo second' } }), 't');
    const deleted = await defineScript('deleted', 'echo gone');
    const deletedJob = jobOf(deleted);
    await registry.delete(deleted.id, 't');

    // Act
    const ranChanged = await tests.run(job);
    const ranDeleted = await tests.run(deletedJob);

    // Assess
    expect(ranChanged).toMatchObject({ status: 'error', stdout: null, test: true, hookRevision: 1 });
    expect(ranChanged.errorMessage).toMatch(/changed \(now revision 2\) before its test ran/);
    expect(ranDeleted).toMatchObject({ status: 'error', hookName: 'deleted' });
    expect(ranDeleted.errorMessage).toMatch(/deleted before its test ran/);
  });

  it('does not run a test that waited in the queue past the time anyone looks for it', async () => {
    // Prepare: issued eleven minutes ago
    const hook = await defineScript('stale', 'echo should-not-run');
    const job = jobOf(hook, `test.${ulid(Date.now() - 11 * 60_000)}`);

    // Act
    const ran = await tests.run(job);

    // Assess
    expect(ran).toMatchObject({ status: 'error', stdout: null });
    expect(ran.errorMessage).toMatch(/waited 66\d s for a free script runner/);
  });

  it('logs a run that could not finish as error, unless its log is written already', async () => {
    // Prepare
    const hook = await defineScript('failing', 'echo fine');
    const unfinished = jobOf(hook);
    const finished = jobOf(hook);
    const written = await tests.run(finished);

    // Act
    const failed = await tests.fail(unfinished, 'the script runner was stopped');
    const kept = await tests.fail(finished, 'too late');

    // Assess
    expect(failed).toMatchObject({
      status: 'error',
      errorMessage: 'the script runner was stopped',
      test: true,
    });
    expect(kept).toEqual(written);
  });
});
