import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { validate } from '@readme/openapi-parser';
import { documentClient, hookItem } from '@stagehooks/core/dynamodb';
import { routes } from '@stagehooks/functions/api';
import { type ApiAnswer, adminApiClient } from '@test/admin-api';
import { localDynamoClient } from '@test/dynamodb';
import { HttpReceiver } from '@test/http-receiver';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ADMIN = 'admin-token-for-the-api-tests';
const EDITOR = 'editor-token-for-the-api-tests';
const VIEWER = 'viewer-token-for-the-api-tests';

let t: TestStack;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  const home = await mkdtemp(join(tmpdir(), 'stagehooks-api-'));
  await writeFile(
    join(home, 'tokens.json'),
    JSON.stringify({
      tokens: [
        { token: EDITOR, role: 'editor', actor: 'erin' },
        { token: VIEWER, role: 'viewer', actor: 'vic' },
      ],
    }),
  );
  t = await startTestStack(
    { STAGEHOOKS_ADMIN_TOKEN: ADMIN, STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}` },
    home,
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const api = adminApiClient(() => t.stack.endpoints.api, ADMIN);

const shellHook = (fields: Record<string, unknown> = {}) => ({
  name: 'api_check',
  type: 'shell',
  hookPoint: 'post_segment',
  scopeType: 'project',
  scopeId: 'p-api',
  config: { script: 'read -r input; echo checked' },
  ...fields,
});

describe('hooks', () => {
  it('creates, reads, replaces, lists and deletes a hook', async () => {
    // Create
    const created = await api('POST', '/hooks', { body: shellHook({ name: 'crud' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/hooks/${created.body.id}`);
    expect(created.body).toMatchObject({
      name: 'crud',
      revision: 1,
      createdBy: 'local-admin',
      failureMode: 'warn',
    });
    const id = created.body.id as string;

    // Read
    expect((await api('GET', `/hooks/${id}`)).body).toEqual(created.body);

    // Replace
    const { id: _id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = created.body;
    const replaced = await api('PUT', `/hooks/${id}`, { body: { ...fields, failureMode: 'block' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ revision: 2, failureMode: 'block' });

    // List with filters
    const listed = await api(
      'GET',
      '/hooks?scopeType=project&scopeId=p-api&hookPoint=post_segment&enabled=true',
    );
    expect(listed.body.items.map((h: { id: string }) => h.id)).toContain(id);

    // Delete at the current revision
    expect((await api('DELETE', `/hooks/${id}?revision=1`)).status).toBe(409);
    expect((await api('DELETE', `/hooks/${id}?revision=2`)).status).toBe(204);
    expect((await api('GET', `/hooks/${id}`)).status).toBe(404);
    const audit = await api('GET', `/hooks/${id}/audit`);
    expect(audit.body.items.map((e: { action: string; actor: string }) => `${e.action}:${e.actor}`)).toEqual([
      'deleted:local-admin',
      'replaced:local-admin',
      'created:local-admin',
    ]);
  });

  it('shows when, mode and outputSchema in every view of a hook, mode inline unless given', async () => {
    // Prepare
    const when = { metadata: { resolution: ['4k', { prefix: 'uhd' }] } };
    const outputSchema = { type: 'object', properties: { score: { type: 'number' } } };

    // Act
    const plain = await api('POST', '/hooks', { body: shellHook({ name: 'flow_plain', scopeId: 'p-flow' }) });
    const created = await api('POST', '/hooks', {
      body: shellHook({ name: 'flow', scopeId: 'p-flow', when, outputSchema, mode: 'detached' }),
    });
    const id = created.body.id as string;
    const { id: _id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = created.body;
    const replaced = await api('PUT', `/hooks/${id}`, {
      body: { ...fields, mode: 'inline', when: undefined },
    });
    const read = await api('GET', `/hooks/${id}`);
    const listed = await api('GET', '/hooks?scopeType=project&scopeId=p-flow');
    const effective = await api('GET', '/hooks/effective/project/p-flow');

    // Assess
    expect(plain.body).toMatchObject({ mode: 'inline' });
    expect(plain.body.when).toBeUndefined();
    expect(plain.body.outputSchema).toBeUndefined();
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ when, outputSchema, mode: 'detached' });
    expect(replaced.body).toMatchObject({ revision: 2, mode: 'inline', outputSchema });
    expect(replaced.body.when).toBeUndefined();
    expect(read.body).toEqual(replaced.body);
    expect(listed.body.items.find((h: { id: string }) => h.id === id)).toEqual(replaced.body);
    expect(effective.body.items.find((e: { hook: { id: string } }) => e.hook.id === id)?.hook).toEqual(
      replaced.body,
    );
  });

  it('returns a webhook signing secret once, on create only', async () => {
    const created = await api('POST', '/hooks', {
      body: {
        name: 'signed',
        type: 'webhook',
        hookPoint: 'post_delivery',
        scopeType: 'project',
        scopeId: 'p-api',
        config: { url: 'https://hooks.example.com/a' },
      },
    });
    expect(created.body.signingSecret).toMatch(/^whsec_/);
    const read = await api('GET', `/hooks/${created.body.id}`);
    expect(JSON.stringify(read.body)).not.toContain('whsec_');
    const listed = await api('GET', '/hooks?scopeType=project&scopeId=p-api');
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
  });

  it('pages a listing with an opaque cursor', async () => {
    for (let i = 0; i < 5; i++)
      await api('POST', '/hooks', { body: shellHook({ name: `paged_${i}`, scopeId: 'p-pages' }) });
    const first = await api('GET', '/hooks?scopeType=project&scopeId=p-pages&limit=2');
    const second = await api(
      'GET',
      `/hooks?scopeType=project&scopeId=p-pages&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    const third = await api(
      'GET',
      `/hooks?scopeType=project&scopeId=p-pages&limit=2&cursor=${encodeURIComponent(second.body.nextCursor)}`,
    );
    const names = [...first.body.items, ...second.body.items, ...third.body.items].map(
      (h: { name: string }) => h.name,
    );
    expect(names.sort()).toEqual(['paged_0', 'paged_1', 'paged_2', 'paged_3', 'paged_4']);
    expect(third.body.nextCursor).toBeUndefined();
  });

  it('lets exactly one of two concurrent replaces of one revision win, with one audit entry', async () => {
    const created = await api('POST', '/hooks', { body: shellHook({ name: 'contended' }) });
    const { id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = created.body;
    const answers = await Promise.all([
      api('PUT', `/hooks/${id}`, { body: { ...fields, sortOrder: 1 } }),
      api('PUT', `/hooks/${id}`, { body: { ...fields, sortOrder: 2 } }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const conflict = answers.find((a) => a.status === 409);
    expect(conflict?.body).toMatchObject({ currentRevision: 2, status: 409 });
    const audit = await api('GET', `/hooks/${id}/audit`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['replaced', 'created']);
  });

  it('shows the effective hooks at each scope, with their source and what they override', async () => {
    const studio = await api('POST', '/hooks', {
      body: {
        ...shellHook({ name: 'eff' }),
        scopeType: 'studio',
        scopeId: undefined,
        hookPoint: 'pre_segment',
      },
    });
    const project = await api('POST', '/hooks', {
      body: shellHook({ name: 'eff', scopeId: 'p-eff', hookPoint: 'pre_segment' }),
    });
    const scene = await api('POST', '/hooks', {
      body: shellHook({ name: 'eff', scopeType: 'scene_type', scopeId: 'st-eff', hookPoint: 'pre_segment' }),
    });

    const atStudio = await api('GET', '/hooks/effective/studio/-?hookPoint=pre_segment');
    const atProject = await api('GET', '/hooks/effective/project/p-eff?hookPoint=pre_segment');
    const atScene = await api(
      'GET',
      '/hooks/effective/scene_type/st-eff?hookPoint=pre_segment&projectId=p-eff',
    );

    const eff = (answer: ApiAnswer) =>
      answer.body.items.find((e: { hook: { name: string } }) => e.hook.name === 'eff');
    expect(eff(atStudio)).toMatchObject({ hook: { id: studio.body.id }, inherited: false, overrides: [] });
    expect(eff(atProject)).toMatchObject({
      hook: { id: project.body.id },
      source: { scopeType: 'project', scopeId: 'p-eff' },
      overrides: [{ hookId: studio.body.id }],
    });
    expect(eff(atScene).overrides.map((o: { hookId: string }) => o.hookId)).toEqual([
      project.body.id,
      studio.body.id,
    ]);
    expect(eff(atScene).hook.id).toBe(scene.body.id);
    const allPoints = await api('GET', '/hooks/effective/project/p-eff');
    expect(
      new Set(allPoints.body.items.map((e: { hook: { hookPoint: string } }) => e.hook.hookPoint)).has(
        'pre_segment',
      ),
    ).toBe(true);
  });
});

describe('test runs', () => {
  it('runs a script hook once with the sample input and logs it as a test, with no pipeline effect', async () => {
    // Prepare
    const created = await api('POST', '/hooks', {
      body: shellHook({
        name: 'tested',
        config: { script: 'read -r input; echo "job=$STAGEHOOKS_JOB_ID"; exit 2' },
      }),
    });
    const eventsBefore = t.receiver.events.length;

    // Act
    const run = await api('POST', `/hooks/${created.body.id}/test`);

    // Assess
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      status: 'failed',
      exitCode: 2,
      stdout: 'job=job-sample-0042\n',
      errorMessage: 'exited with code 2',
    });
    expect(run.body.input).toMatchObject({ test: true, hookPoint: 'post_segment', jobId: 'job-sample-0042' });
    const logs = await api('GET', `/hooks/${created.body.id}/logs`);
    expect(logs.body.items).toHaveLength(1);
    expect(logs.body.items[0]).toMatchObject({
      id: run.body.logId,
      test: true,
      executionId: null,
      status: 'failed',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(t.receiver.events.length).toBe(eventsBefore);
  });

  it('reads a test run later by its id, and knows no other hook’s run', async () => {
    // Prepare
    const created = await api('POST', '/hooks', {
      body: shellHook({ name: 'read_later', config: { script: 'echo "later $STAGEHOOKS_JOB_ID"' } }),
    });
    const other = await api('POST', '/hooks', { body: shellHook({ name: 'read_other' }) });
    const run = await api('POST', `/hooks/${created.body.id}/test`);

    // Act
    const later = await api('GET', `/hooks/${created.body.id}/test-runs/${run.body.logId}`, {
      token: VIEWER,
    });
    const elsewhere = await api('GET', `/hooks/${other.body.id}/test-runs/${run.body.logId}`);
    const malformed = await api('GET', `/hooks/${created.body.id}/test-runs/not-a-run`);

    // Assess
    expect(run.status).toBe(200);
    expect(later.status).toBe(200);
    expect(later.body).toEqual(run.body);
    expect(elsewhere.status).toBe(404);
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([
      { path: 'path.runId', message: expect.stringMatching(/test run id/) },
    ]);
  });

  it('runs a webhook with a given input, signed like the real thing', async () => {
    const created = await api('POST', '/hooks', {
      body: {
        name: 'tested_hook',
        type: 'webhook',
        hookPoint: 'post_variant',
        scopeType: 'project',
        scopeId: 'p-api',
        config: { url: receiver.url('/tested') },
      },
    });
    const run = await api('POST', `/hooks/${created.body.id}/test`, {
      body: { input: { jobId: 'job-given', metadata: { take: 7 } } },
    });
    expect(run.body).toMatchObject({ status: 'passed', responseStatus: 200 });
    const request = receiver.requests.find((r) => r.url === '/tested');
    expect(request?.headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      jobId: 'job-given',
      metadata: { take: 7 },
      test: true,
    });
  });
});

describe('test runs with data flow', () => {
  it('shows the data a run returned, checked against its outputSchema, and the outputs it was given', async () => {
    // Prepare: the script prints what it got as outputs, then its report
    const created = await api('POST', '/hooks', {
      body: shellHook({
        name: 'reports_data',
        outputSchema: { type: 'object', properties: { score: { type: 'number' } }, required: ['score'] },
        config: {
          script:
            'read -r input; echo "$input" | grep -o \'"outputs":{[^}]*}}\'; echo \'{"status":"passed","data":{"score":"high"}}\'',
        },
      }),
    });
    const outputs = { lint: { ok: true } };

    // Act
    const run = await api('POST', `/hooks/${created.body.id}/test`, { body: { input: { outputs } } });
    const later = await api('GET', `/hooks/${created.body.id}/test-runs/${run.body.logId}`);
    const logs = await api('GET', `/hooks/${created.body.id}/logs`);

    // Assess: the data does not match (score is a string), so the run failed, naming the path
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      status: 'failed',
      data: { score: 'high' },
      patch: null,
      condition: null,
    });
    expect(run.body.errorMessage).toMatch(/outputSchema: data\.score/);
    expect(run.body.input.outputs).toEqual(outputs);
    expect(run.body.stdout).toContain('"outputs":{"lint":{"ok":true}}');
    expect(later.body).toEqual(run.body);
    expect(logs.body.items[0]).toMatchObject({ outputData: { score: 'high' }, patch: null });
  });

  it('says whether the given input matches the hook’s when, and runs the hook either way', async () => {
    // Prepare
    const when = { metadata: { resolution: ['4k'] } };
    const created = await api('POST', '/hooks', {
      body: shellHook({ name: 'conditional_test', when, config: { script: 'echo ran' } }),
    });

    // Act
    const matching = await api('POST', `/hooks/${created.body.id}/test`, {
      body: { input: { metadata: { resolution: '4k' } } },
    });
    const other = await api('POST', `/hooks/${created.body.id}/test`, {
      body: { input: { metadata: { resolution: 'hd' } } },
    });
    const later = await api('GET', `/hooks/${created.body.id}/test-runs/${other.body.logId}`);

    // Assess
    expect(matching.body).toMatchObject({
      status: 'passed',
      stdout: 'ran\n',
      condition: { when, matched: true },
    });
    expect(other.body).toMatchObject({
      status: 'passed',
      stdout: 'ran\n',
      condition: { when, matched: false },
    });
    expect(later.body.condition).toEqual({ when, matched: false });
  });

  it('refuses test outputs that are not objects by hook name, naming the field', async () => {
    const created = await api('POST', '/hooks', { body: shellHook({ name: 'bad_outputs' }) });
    const answers = await Promise.all(
      [{ lint: 1 }, { 'Not A Name': {} }, []].map((outputs) =>
        api('POST', `/hooks/${created.body.id}/test`, { body: { input: { outputs } } }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.errors.map((e: { path: string }) => e.path).join(' ')).toMatch(/input\.outputs/);
    }
  });
});

describe('jobs, executions and reviews', () => {
  it('lists a job’s hook logs, its executions with verdicts, and their history', async () => {
    await api('POST', '/hooks', {
      body: shellHook({ name: 'job_hook', scopeId: 'p-job', hookPoint: 'post_variant' }),
    });
    await t.emit({ hookPoint: 'post_variant', jobId: 'job-api', projectId: 'p-job' });
    const verdict = await t.receiver.verdict('job-api', 'post_variant');

    const logs = await api('GET', '/jobs/job-api/hook-logs');
    expect(
      logs.body.items.map((l: { hookName: string; status: string }) => `${l.hookName}:${l.status}`),
    ).toEqual(['job_hook:passed']);
    expect((await api('GET', '/jobs/job-api/hook-logs?status=failed')).body.items).toEqual([]);

    const executions = await api('GET', '/jobs/job-api/executions');
    expect(executions.body.items).toEqual([
      expect.objectContaining({
        executionId: verdict.detail.executionId,
        hookPoint: 'post_variant',
        status: 'SUCCEEDED',
        verdict: 'passed',
      }),
    ]);
    const name = String(verdict.detail.executionId).split(':').at(-1);
    const byName = await api('GET', `/executions/${name}/history?limit=3`);
    expect(byName.body.items.map((e: { type: string }) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
    ]);
    expect(byName.body.nextCursor).toBeTruthy();
    const byArn = await api(
      'GET',
      `/executions/${encodeURIComponent(String(verdict.detail.executionId))}/history?reverse=true&limit=1`,
    );
    expect(byArn.body.items[0].type).toBe('ExecutionSucceeded');
    expect((await api('GET', '/executions/no-such-execution/history')).status).toBe(404);
    for (const cursor of ['bm90LWEtdG9rZW4', 'x'.repeat(1025)]) {
      const bad = await api('GET', `/executions/${name}/history?cursor=${cursor}`);
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([{ path: 'query.cursor', message: 'is not a cursor of this history' }]);
    }
  });

  it('answers 400 naming query.cursor for a cursor it did not issue for that listing, on every list route', async () => {
    // Prepare: a real cursor, and the same with its key changed (its listing fingerprint kept)
    for (let i = 0; i < 2; i++)
      await api('POST', '/hooks', { body: shellHook({ name: `cursor_${i}`, scopeId: 'p-cursor' }) });
    const first = await api('GET', '/hooks?scopeType=project&scopeId=p-cursor&limit=1');
    const { k, q } = JSON.parse(Buffer.from(first.body.nextCursor, 'base64url').toString());
    const tampered = Buffer.from(JSON.stringify({ k: { ...k, pk: 'SCOPE#project#p-other' }, q })).toString(
      'base64url',
    );
    const hookId = first.body.items[0].id;

    // Act
    const answers = await Promise.all(
      [
        `/hooks?scopeType=project&scopeId=p-cursor&limit=1&cursor=${tampered}`,
        `/hooks?cursor=${first.body.nextCursor}`,
        `/hooks/${hookId}/logs?cursor=${first.body.nextCursor}`,
        `/hooks/${hookId}/audit?cursor=${first.body.nextCursor}`,
        `/jobs/job-api/hook-logs?cursor=not-a-cursor`,
        `/reviews?cursor=${tampered}`,
      ].map((path) => api('GET', path)),
    );

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([
        { path: 'query.cursor', message: 'is not a cursor of this listing' },
      ]);
    }
  });

  it('lists open reviews and approves one, which runs the rest of the stage', async () => {
    // Prepare
    await api('POST', '/hooks', {
      body: shellHook({
        name: 'gate',
        scopeId: 'p-review',
        failureMode: 'block',
        sortOrder: 10,
        config: { script: 'exit 1' },
      }),
    });
    await api('POST', '/hooks', { body: shellHook({ name: 'after', scopeId: 'p-review', sortOrder: 20 }) });
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-review-api', projectId: 'p-review' });
    const blocked = await t.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-review-api',
    );
    const reviewId = String(blocked.detail.reviewId);

    // Act
    const open = await api('GET', '/reviews?status=open');
    const decided = await api('POST', `/reviews/${reviewId}/decision`, {
      token: EDITOR,
      body: { decision: 'approve', comment: 'ok by me' },
    });
    const verdict = await t.receiver.verdict('job-review-api', 'post_segment');

    // Assess
    const listed = open.body.items.find((r: { id: string }) => r.id === reviewId);
    expect(listed).toMatchObject({ status: 'open', hookName: 'gate', jobId: 'job-review-api' });
    expect(listed).not.toHaveProperty('taskToken');
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({
      status: 'approved',
      decision: 'approve',
      decidedBy: 'erin',
      comment: 'ok by me',
    });
    expect(decided.body).not.toHaveProperty('taskToken');
    expect(verdict.detail).toMatchObject({ verdict: 'passed', review: { decision: 'approve', by: 'erin' } });
    expect((await t.stack.logs.listByJob('job-review-api')).items.map((l) => l.hookName)).toEqual([
      'gate',
      'after',
    ]);
    expect(
      (await t.stack.reviews.auditTrail(reviewId)).map((e) => `${e.action}:${e.actor}:${e.after.status}`),
    ).toEqual(['decided:erin:approved']);
    // the history shows where the review's task token went, never the token
    const history = await api(
      'GET',
      `/executions/${encodeURIComponent(String(verdict.detail.executionId))}/history`,
    );
    const text = JSON.stringify(history.body);
    expect(text).toContain('[redacted]');
    const token = (await t.stack.reviews.get(reviewId))?.taskToken;
    expect(token && text.includes(token)).toBeFalsy();
    // a second decision is a conflict, and a viewer may not decide
    expect(
      (await api('POST', `/reviews/${reviewId}/decision`, { body: { decision: 'reject' } })).status,
    ).toBe(409);
    expect(
      (await api('POST', `/reviews/${reviewId}/decision`, { token: VIEWER, body: { decision: 'reject' } }))
        .status,
    ).toBe(403);
  });

  it('keeps a studio gate for admins: an editor may not decide it', async () => {
    await api('POST', '/hooks', {
      body: {
        ...shellHook({ name: 'studio_gate', failureMode: 'block', config: { script: 'exit 1' } }),
        scopeType: 'studio',
        scopeId: undefined,
        hookPoint: 'pre_concatenation',
      },
    });
    await t.emit({ hookPoint: 'pre_concatenation', jobId: 'job-studio-gate', projectId: 'p-any' });
    const blocked = await t.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-studio-gate',
    );
    const reviewId = String(blocked.detail.reviewId);
    expect(
      (await api('POST', `/reviews/${reviewId}/decision`, { token: EDITOR, body: { decision: 'approve' } }))
        .status,
    ).toBe(403);
    expect(
      (await api('POST', `/reviews/${reviewId}/decision`, { body: { decision: 'approve' } })).status,
    ).toBe(200);
    await t.receiver.verdict('job-studio-gate', 'pre_concatenation');
  });

  it('rejects a review, which ends the stage blocked', async () => {
    await api('POST', '/hooks', {
      body: shellHook({
        name: 'gate',
        scopeId: 'p-reject-api',
        failureMode: 'block',
        sortOrder: 10,
        config: { script: 'exit 1' },
      }),
    });
    await api('POST', '/hooks', {
      body: shellHook({ name: 'after', scopeId: 'p-reject-api', sortOrder: 20 }),
    });
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-reject-api', projectId: 'p-reject-api' });
    const blocked = await t.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-reject-api',
    );
    await api('POST', `/reviews/${String(blocked.detail.reviewId)}/decision`, {
      body: { decision: 'reject', comment: 'no' },
    });
    const verdict = await t.receiver.verdict('job-reject-api', 'post_segment');
    expect(verdict.detail).toMatchObject({
      verdict: 'blocked',
      review: { decision: 'reject', by: 'local-admin' },
    });
    expect(
      (await api('GET', '/reviews?status=rejected')).body.items.map((r: { id: string }) => r.id),
    ).toContain(blocked.detail.reviewId);
  });
});

describe('reference routes', () => {
  it('lists the five hook points with a sample input each', async () => {
    const points = await api('GET', '/hook-points', { token: VIEWER });
    expect(points.body.items.map((p: { hookPoint: string }) => p.hookPoint)).toEqual([
      'post_variant',
      'pre_segment',
      'post_segment',
      'pre_concatenation',
      'post_delivery',
    ]);
    for (const point of points.body.items)
      expect(point.sampleInput).toMatchObject({
        hookPoint: point.hookPoint,
        jobId: expect.any(String),
        projectId: expect.any(String),
      });
  });

  it('serves a valid OpenAPI 3.1 document that has every route', async () => {
    const document = await api('GET', '/openapi.json', { token: null });
    expect(document.status).toBe(200);
    expect(document.body.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document.body));
    expect(result.valid ? [] : result.errors).toEqual([]);
    for (const route of routes) {
      expect(
        document.body.paths[route.path]?.[route.method.toLowerCase()],
        `${route.method} ${route.path}`,
      ).toBeDefined();
    }
    expect(document.body.paths['/hooks'].post.requestBody.content['application/json'].schema).toBeDefined();
    // the data-flow fields, in the hooks' answers, the logs' and the test run's
    const hook = document.body.paths['/hooks/{id}'].get.responses['200'].content['application/json'].schema;
    for (const variant of hook.oneOf)
      expect(Object.keys(variant.properties)).toEqual(
        expect.arrayContaining(['when', 'mode', 'outputSchema']),
      );
    const logs =
      document.body.paths['/hooks/{id}/logs'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(logs.properties.items.items.properties)).toEqual(
      expect.arrayContaining(['outputData', 'patch']),
    );
    const test = document.body.paths['/hooks/{id}/test'].post;
    expect(Object.keys(test.responses['200'].content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['data', 'patch', 'condition']),
    );
    expect(
      test.requestBody.content['application/json'].schema.properties.input.properties.outputs,
    ).toBeDefined();
  });
});

describe('hooks saved before the save-time rules', () => {
  it('never show the credentials in a stored webhook URL, to viewers or in the audit trail', async () => {
    // Prepare: a webhook as one could be saved before URLs with credentials were refused
    const created = await api('POST', '/hooks', {
      body: {
        ...shellHook({ name: 'old_creds' }),
        type: 'webhook',
        config: { url: 'https://hooks.example.com/o' },
      },
    });
    const { signingSecret: _secret, ...hook } = created.body;
    const old = { ...hook, config: { ...hook.config, url: 'https://ann:hunter2@hooks.example.com/o' } };
    const client = localDynamoClient(t.stack.endpoints.dynamodb);
    await documentClient(client).send(
      new PutCommand({ TableName: t.stack.config.tableName, Item: hookItem(old) }),
    );
    client.destroy();

    // Act
    const reads = await Promise.all(
      [`/hooks/${hook.id}`, '/hooks?scopeType=project&scopeId=p-api', '/hooks/effective/project/p-api'].map(
        (path) => api('GET', path, { token: VIEWER }),
      ),
    );
    await api('DELETE', `/hooks/${hook.id}`);
    const audit = await api('GET', `/hooks/${hook.id}/audit`, { token: VIEWER });

    // Assess
    expect(reads[0]?.body.config.url).toBe('https://***:***@hooks.example.com/o');
    for (const answer of [...reads, audit]) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain('hunter2');
    }
  });
});

describe('bad requests', () => {
  let hookId: string;
  let current: Record<string, unknown>;
  beforeAll(async () => {
    const created = await api('POST', '/hooks', { body: shellHook({ name: 'target' }) });
    hookId = created.body.id;
    const { id: _id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = created.body;
    current = fields;
  });

  const table: Array<[string, () => Promise<ApiAnswer>, number, RegExp | string | undefined]> = [
    ['invalid JSON', () => api('POST', '/hooks', { raw: '{"name": ' }), 400, /not valid JSON/],
    [
      'a wrong type',
      () => api('POST', '/hooks', { body: shellHook({ sortOrder: 'first' }) }),
      400,
      'sortOrder',
    ],
    ['an unknown field', () => api('POST', '/hooks', { body: shellHook({ colour: 'red' }) }), 400, 'colour'],
    [
      'a bad enum value',
      () => api('POST', '/hooks', { body: shellHook({ failureMode: 'explode' }) }),
      400,
      'failureMode',
    ],
    ['a missing body', () => api('POST', '/hooks'), 400, /body is required/],
    [
      'a missing revision',
      () => api('PUT', `/hooks/${hookId}`, { body: { ...current, revision: undefined } }),
      400,
      'revision',
    ],
    [
      'a stale revision',
      () => api('PUT', `/hooks/${hookId}`, { body: { ...current, revision: 99 } }),
      409,
      undefined,
    ],
    [
      'an oversize body',
      () =>
        api('POST', '/hooks', {
          raw: JSON.stringify({ ...shellHook(), description: 'x'.repeat(300 * 1024) }),
        }),
      413,
      undefined,
    ],
    [
      'path traversal in scriptPath',
      () => api('POST', '/hooks', { body: shellHook({ config: { scriptPath: '../../etc/shadow' } }) }),
      400,
      'config.scriptPath',
    ],
    [
      'a file:// webhook URL',
      () =>
        api('POST', '/hooks', {
          body: { ...shellHook(), type: 'webhook', config: { url: 'file:///etc/passwd' } },
        }),
      400,
      'config.url',
    ],
    [
      'a non-HTTP webhook URL',
      () =>
        api('POST', '/hooks', {
          body: { ...shellHook(), type: 'webhook', config: { url: 'gopher://x.example.com' } },
        }),
      400,
      'config.url',
    ],
    ['an unknown hook id', () => api('GET', '/hooks/01NOSUCHHOOK'), 404, undefined],
    ['a bad query parameter', () => api('GET', '/hooks?limit=0'), 400, 'query.limit'],
    ['an unknown query parameter', () => api('GET', '/hooks?colour=red'), 400, 'query.colour'],
    [
      'a bad decision',
      () => api('POST', '/reviews/x/decision', { body: { decision: 'maybe' } }),
      400,
      'decision',
    ],
    [
      'a viewer writing',
      () => api('POST', '/hooks', { token: VIEWER, body: shellHook({ name: 'by_viewer' }) }),
      403,
      undefined,
    ],
    [
      'an editor writing a studio hook',
      () =>
        api('POST', '/hooks', {
          token: EDITOR,
          body: { ...shellHook({ name: 'by_editor' }), scopeType: 'studio', scopeId: undefined },
        }),
      403,
      undefined,
    ],
    ['a missing token', () => api('GET', '/hooks', { token: null }), 401, undefined],
    ['a wrong token', () => api('GET', '/hooks', { token: 'not-a-real-token-at-all' }), 401, undefined],
    ['an unknown route', () => api('GET', '/nothing-here'), 404, undefined],
    ['a malformed path', () => api('GET', '/hooks/%E0%A4%A'), 400, 'path.id'],
    [
      'another state machine’s execution',
      () =>
        api(
          'GET',
          `/executions/${encodeURIComponent('arn:aws:states:us-east-1:000000000000:execution:other:x')}/history`,
        ),
      404,
      undefined,
    ],
    [
      'an editor naming another scope’s secret',
      () =>
        api('POST', '/hooks', {
          token: EDITOR,
          body: {
            ...shellHook({ name: 'thief' }),
            type: 'webhook',
            config: {
              url: 'https://hooks.example.com/t',
              auth: { type: 'bearer', secretRef: 'studio/render-farm-token' },
            },
          },
        }),
      403,
      undefined,
    ],
    [
      'credentials in a webhook URL',
      () =>
        api('POST', '/hooks', {
          body: { ...shellHook(), type: 'webhook', config: { url: 'https://ann:pw@hooks.example.com/x' } },
        }),
      400,
      'config.url',
    ],
    [
      'a header value no HTTP request can carry',
      () =>
        api('POST', '/hooks', {
          body: {
            ...shellHook(),
            type: 'webhook',
            config: { url: 'https://hooks.example.com/x', headers: { 'X-Title': 'Ünïcödé ✓' } },
          },
        }),
      400,
      'config.headers.X-Title',
    ],
    [
      'more env variables than a script can start with',
      () =>
        api('POST', '/hooks', {
          body: shellHook({
            config: {
              script: 'true',
              env: Object.fromEntries(Array.from({ length: 14_000 }, (_, i) => [`V${i}`, 'x'])),
            },
          }),
        }),
      400,
      'config.env',
    ],
    [
      'an env key __proto__',
      () =>
        api('POST', '/hooks', {
          raw: JSON.stringify(shellHook()).replace('"script"', '"env":{"__proto__":"x"},"script"'),
        }),
      400,
      'config.env.__proto__',
    ],
    ['a wrong method', () => api('PATCH', '/hooks'), 405, undefined],
    [
      'a non-JSON content type',
      () =>
        api('POST', '/hooks', {
          raw: 'name=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      415,
      undefined,
    ],
  ];

  it('answers 415 to a body without a content type, and takes application/json with a charset', async () => {
    // Act: a byte body, so fetch adds no content type of its own
    const untyped = await fetch(`${t.stack.endpoints.api}/hooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: new TextEncoder().encode(JSON.stringify(shellHook({ name: 'untyped' }))),
    });
    const withCharset = await api('POST', '/hooks', {
      raw: JSON.stringify(shellHook({ name: 'with_charset' })),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });

    // Assess
    expect(untyped.status).toBe(415);
    expect(untyped.headers.get('content-type')).toBe('application/problem+json');
    expect(await untyped.json()).toMatchObject({
      status: 415,
      detail: expect.stringContaining('application/json'),
    });
    expect(withCharset.status).toBe(201);
    expect(
      (await api('GET', '/hooks?scopeType=project&scopeId=p-api')).body.items.map(
        (h: { name: string }) => h.name,
      ),
    ).not.toContain('untyped');
  });

  it.each(table)('%s gets the right status and names the field', async (_case, request, status, field) => {
    const answer = await request();
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    if (typeof field === 'string')
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    if (field instanceof RegExp) expect(JSON.stringify(answer.body)).toMatch(field);
    expect(JSON.stringify(answer.body)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  });

  /** The data-flow fields, refused on create and on replace alike, naming the field (or a path under it). */
  const dataFlowCases: Array<[string, Record<string, unknown>, string]> = [
    ['an outputSchema ajv cannot compile', { outputSchema: { type: 'nope' } }, 'outputSchema'],
    ['a when that is no EventBridge pattern', { when: { metadata: { resolution: '4k' } } }, 'when'],
    ['a detached hook that would block', { mode: 'detached', failureMode: 'block' }, 'mode'],
    ['an unknown mode', { mode: 'sideways' }, 'mode'],
  ];
  const requests = {
    POST: (fields: Record<string, unknown>) => api('POST', '/hooks', { body: shellHook(fields) }),
    PUT: (fields: Record<string, unknown>) =>
      api('PUT', `/hooks/${hookId}`, { body: { ...current, ...fields } }),
  };

  it.each(
    dataFlowCases.flatMap(([name, fields, field]) =>
      (['POST', 'PUT'] as const).map((method) => [method, name, fields, field] as const),
    ),
  )('%s refuses %s with 400 naming it', async (method, _case, fields, field) => {
    const answer = await requests[method](fields);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    const paths: string[] = answer.body.errors.map((e: { path: string }) => e.path);
    expect(
      paths.some((path) => path === field || path.startsWith(`${field}.`)),
      paths.join(', '),
    ).toBe(true);
  });

  it('lets an editor write project hooks and says which methods a path takes', async () => {
    expect(
      (await api('POST', '/hooks', { token: EDITOR, body: shellHook({ name: 'by_editor_ok' }) })).body
        .createdBy,
    ).toBe('erin');
    expect((await api('PATCH', '/hooks')).headers.get('allow')).toBe('GET, POST');
  });

  it('answers the console’s preflight for allowed origins only', async () => {
    const origin = `http://127.0.0.1:${t.stack.config.ports.api}`;
    const allowed = await fetch(`${t.stack.endpoints.api}/hooks`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
    const other = await fetch(`${t.stack.endpoints.api}/hooks`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the hook catalog', () => {
  const installBody = (fields: Record<string, unknown> = {}) => ({
    scopeType: 'project',
    scopeId: 'p-api-catalog',
    hookPoint: 'post_segment',
    ...fields,
  });

  it('lists the entries and shows one with its README, to any role', async () => {
    // Act
    const list = await api('GET', '/catalog', { token: VIEWER });
    const one = await api('GET', '/catalog/media-probe', { token: VIEWER });
    const missing = await api('GET', '/catalog/no-such-entry', { token: VIEWER });

    // Assess
    expect(list.status).toBe(200);
    const ids = (list.body.items as Array<{ id: string }>).map((item) => item.id);
    expect(ids).toEqual(expect.arrayContaining(['media-probe', 'color-grade', 'watermark', 'chat-notify']));
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'media-probe', type: 'python' });
    expect(one.body.readme).toContain('# ');
    expect(missing.status).toBe(404);
  });

  it('installs only where the caller may write: not as a viewer, not at studio scope as an editor', async () => {
    // Act
    const viewer = await api('POST', '/catalog/media-probe/install', { token: VIEWER, body: installBody() });
    const editorAtStudio = await api('POST', '/catalog/media-probe/install', {
      token: EDITOR,
      body: installBody({ scopeType: 'studio', scopeId: null }),
    });
    const editorAtProject = await api('POST', '/catalog/media-probe/install', {
      token: EDITOR,
      body: installBody({ name: 'probe-by-editor' }),
    });

    // Assess
    expect(viewer.status).toBe(403);
    expect(editorAtStudio.status).toBe(403);
    expect(editorAtProject.status, editorAtProject.text).toBe(201);
    expect(editorAtProject.body).toMatchObject({
      name: 'probe-by-editor',
      type: 'python',
      catalog: { id: 'media-probe', version: '1.0.0', updateAvailable: false },
    });
    const read = await api('GET', `/hooks/${editorAtProject.body.id}`);
    expect(read.body.catalog).toEqual({ id: 'media-probe', version: '1.0.0', updateAvailable: false });
  });
});
