import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { isJsonObject, jsonTooDeepAt } from '@stagehooks/core/domain';
import { documentClient } from '@stagehooks/core/dynamodb';
import { type ApiAnswer, adminApiClient } from '@test/admin-api';
import { HttpReceiver } from '@test/http-receiver';
import { startTestStack, type TestStack } from '@test/stack';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ADMIN = 'admin-token-for-the-json-input-tests';

let t: TestStack;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  t = await startTestStack(
    { STAGEHOOKS_ADMIN_TOKEN: ADMIN, STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}` },
    await mkdtemp(join(tmpdir(), 'stagehooks-json-')),
  );
}, 120_000);
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const call = adminApiClient(() => t.stack.endpoints.api, ADMIN);
/** The admin API as the admin; a string body goes as it is, so keys such as `__proto__` are sent as written. */
const api = (method: string, path: string, body?: unknown) =>
  call(method, path, typeof body === 'string' ? { raw: body } : { body });

/** Metadata whose keys are the names of Object.prototype's members, at the top and nested. */
const prototypeKeys = () =>
  JSON.parse(
    '{"constructor":{"name":"Set"},"__proto__":{"polluted":true},"toString":"x","valueOf":1,' +
      '"nested":{"constructor":1,"__proto__":[1,2],"hasOwnProperty":null,"isPrototypeOf":{"__proto__":{}}}}',
  ) as Record<string, unknown>;

/** `{ "a": { "a": ... 1 } }`: an object `levels` deep, itself the first. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const nested = (levels: number) => JSON.parse(nestedText(levels)) as Record<string, unknown>;

/** JSON text of a value, for comparisons that must see every own key (`__proto__` too) and its order. */
const text = (value: unknown) => JSON.stringify(value);

const logsOf = async (jobId: string) => (await t.stack.logs.listByJob(jobId)).items;

async function executionOf(eventId: string) {
  const executions = await t.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: t.stack.stateMachineArn }),
  );
  const execution = executions.executions?.find((e) =>
    e.name?.includes(eventId.replace(/-/g, '').slice(0, 12)),
  );
  await t.stack.sfn.whenDone(execution?.executionArn as string);
  return t.sfn.send(new DescribeExecutionCommand({ executionArn: execution?.executionArn }));
}

async function rejectionOf(eventId: string) {
  const { Item } = await documentClient(t.stack.dynamoClient).send(
    new GetCommand({ TableName: t.stack.config.tableName, Key: { pk: `EVENT#${eventId}`, sk: 'REJECTED' } }),
  );
  return Item;
}

describe('JSON from outside keeps every key', () => {
  beforeAll(async () => {
    await t.define({
      name: 'notify',
      type: 'webhook',
      hookPoint: 'post_variant',
      scopeType: 'project',
      scopeId: 'p-json',
      config: { url: receiver.url('/json') },
    });
    await t.define({
      name: 'echo',
      type: 'shell',
      hookPoint: 'post_variant',
      scopeType: 'project',
      scopeId: 'p-json',
      sortOrder: 200,
      config: { script: 'cat "$STAGEHOOKS_INPUT_FILE"' },
    });
  });

  it('runs, logs and sends metadata and scene context whose keys are named like Object.prototype members', async () => {
    // Prepare
    const metadata = prototypeKeys();
    const sceneContext = { constructor: 'scene', shot: { __proto__: null, toString: 'y' } };

    // Act
    await t.emit({
      hookPoint: 'post_variant',
      jobId: 'job-proto',
      projectId: 'p-json',
      metadata,
      sceneContext,
    });
    const verdict = await t.receiver.verdict('job-proto', 'post_variant');

    // Assess: the stage passed, and every log it cites was written
    expect(verdict.detail).toMatchObject({ verdict: 'passed', logsError: null });
    const logs = await logsOf('job-proto');
    expect(logs.map((l) => [l.hookName, l.status])).toEqual([
      ['notify', 'passed'],
      ['echo', 'passed'],
    ]);
    const results = verdict.detail.results as Array<{ logId: string | null }>;
    expect(results.map((r) => r.logId)).toEqual(logs.map((l) => l.id));
    // the webhook got them, the script read them, the logs and the admin API hold them, all unchanged
    const sent = JSON.parse(receiver.requests.at(-1)?.body ?? '{}');
    expect(text(sent.metadata)).toBe(text(metadata));
    expect(text(JSON.parse(logs[1]?.stdout ?? '{}').metadata)).toBe(text(metadata));
    for (const log of logs) {
      const input = log.input as Record<string, unknown>;
      expect(text(input.metadata)).toBe(text(metadata));
      expect(text(input.sceneContext)).toBe(text(JSON.parse(text(sceneContext))));
    }
    const listed = await api('GET', '/jobs/job-proto/hook-logs');
    expect(listed.status).toBe(200);
    expect(text(listed.body.items[0].input.metadata)).toBe(text(metadata));
    // and nothing was polluted on the way
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stores, returns and runs a hook whose env and headers use such names', async () => {
    // Prepare
    const env = { constructor: 'c', toString: 't', valueOf: 'v', hasOwnProperty: 'h' };
    const headers = { constructor: 'from-a-header', toString: 'ts' };

    // Act
    const script = await api('POST', '/hooks', {
      name: 'env-names',
      type: 'shell',
      hookPoint: 'pre_segment',
      scopeType: 'studio',
      config: { script: 'printf "%s/%s/%s/%s" "$constructor" "$toString" "$valueOf" "$hasOwnProperty"', env },
    });
    const webhook = await api('POST', '/hooks', {
      name: 'header-names',
      type: 'webhook',
      hookPoint: 'pre_segment',
      scopeType: 'studio',
      config: { url: receiver.url('/headers'), headers },
    });
    const read = await api('GET', `/hooks/${script.body.id}`);
    const ran = await api('POST', `/hooks/${script.body.id}/test`, {});
    const sent = await api('POST', `/hooks/${webhook.body.id}/test`, {});
    const audit = await api('GET', `/hooks/${script.body.id}/audit`);

    // Assess
    expect([script.status, webhook.status]).toEqual([201, 201]);
    expect(read.body.config.env).toEqual(env);
    expect(audit.body.items[0].after.config.env).toEqual(env);
    expect(ran.body).toMatchObject({ status: 'passed', stdout: 'c/t/v/h' });
    expect(sent.body).toMatchObject({ status: 'passed' });
    const request = receiver.requests.find((r) => r.url === '/headers');
    expect(request?.headers).toMatchObject({ constructor: 'from-a-header', tostring: 'ts' });
  });

  it('keeps such keys in a test run input, its log and its answer', async () => {
    // Prepare
    const hooks = await api('GET', '/hooks?scopeType=project&scopeId=p-json&hookPoint=post_variant');
    const echo = hooks.body.items.find((h: { name: string }) => h.name === 'echo');
    const metadata = prototypeKeys();

    // Act
    const ran = await api('POST', `/hooks/${echo.id}/test`, `{"input":{"metadata":${text(metadata)}}}`);
    const log = await api('GET', `/hooks/${echo.id}/logs?limit=1`);

    // Assess
    expect(ran.status).toBe(200);
    expect(text(ran.body.input.metadata)).toBe(text(metadata));
    expect(text(JSON.parse(ran.body.stdout).metadata)).toBe(text(metadata));
    expect(text(log.body.items[0].input.metadata)).toBe(text(metadata));
  });
});

describe('data-flow JSON keeps every key', () => {
  it('stores and returns a when and an outputSchema whose keys are named like Object.prototype members', async () => {
    // Prepare: as text, so `__proto__` is sent as an own key
    const whenText =
      '{"metadata":{"__proto__":["a"],"constructor":{"name":["Set"]},"toString":[{"exists":true}]}}';
    const schemaText =
      '{"type":"object","properties":{"__proto__":{"type":"object"},"constructor":{"type":"string"}},' +
      '"required":["constructor"]}';
    const body = (name: string) =>
      `{"name":"${name}","type":"shell","hookPoint":"post_segment","scopeType":"project","scopeId":"p-json",` +
      `"config":{"script":"true"},"when":${whenText},"outputSchema":${schemaText}}`;

    // Act
    const created = await api('POST', '/hooks', body('proto_flow'));
    const read = await api('GET', `/hooks/${created.body.id}`);
    const listed = await api('GET', '/hooks?scopeType=project&scopeId=p-json&hookPoint=post_segment');
    const audit = await api('GET', `/hooks/${created.body.id}/audit`);
    const {
      id: _id,
      createdAt: _c,
      createdBy: _b,
      updatedAt: _u,
      when: _w,
      outputSchema: _s,
      ...fields
    } = read.body;
    const replacedText = `${JSON.stringify(fields).slice(0, -1)},"when":${whenText},"outputSchema":${schemaText}}`;
    const replaced = await api('PUT', `/hooks/${created.body.id}`, replacedText);

    // Assess: compared as text, which sees every own key and its order
    expect(created.status).toBe(201);
    for (const hook of [
      created.body,
      read.body,
      listed.body.items.find((h: { id: string }) => h.id === created.body.id),
      audit.body.items[0].after,
      replaced.body,
    ]) {
      expect(text(hook.when)).toBe(whenText);
      expect(text(hook.outputSchema)).toBe(schemaText);
    }
    expect(replaced.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps such keys in the data a test run returns, its answer and its log', async () => {
    // Prepare
    const dataText =
      '{"__proto__":{"polluted":true},"constructor":"c","nested":{"constructor":{"name":"x"}}}';
    const created = await api('POST', '/hooks', {
      name: 'proto_data',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-json',
      config: { script: `echo '{"status":"passed","data":${dataText}}'` },
    });

    // Act
    const ran = await api('POST', `/hooks/${created.body.id}/test`, {});
    const log = await api('GET', `/hooks/${created.body.id}/logs?limit=1`);

    // Assess
    expect(ran.body.status).toBe('passed');
    expect(text(ran.body.data)).toBe(dataText);
    expect(text(log.body.items[0].outputData)).toBe(dataText);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('how deep JSON may nest', () => {
  it('runs a stage whose metadata nests 32 levels, and rejects one of 33 naming detail.metadata', async () => {
    // Act
    await t.emit({
      hookPoint: 'post_variant',
      jobId: 'job-deep-32',
      projectId: 'p-json',
      metadata: nested(32),
    });
    const verdict = await t.receiver.verdict('job-deep-32', 'post_variant');
    const eventId = await t.emit({
      hookPoint: 'post_variant',
      jobId: 'job-deep-33',
      projectId: 'p-json',
      sceneContext: nested(33),
    });
    const described = await executionOf(eventId);

    // Assess
    expect(verdict.detail).toMatchObject({ verdict: 'passed' });
    const [log] = await logsOf('job-deep-32');
    expect(text((log?.input as Record<string, unknown> | undefined)?.metadata)).toBe(text(nested(32)));
    expect(described).toMatchObject({ status: 'FAILED', error: 'StageEvent.Invalid' });
    expect((await rejectionOf(eventId))?.reasons).toEqual([
      { path: 'detail.sceneContext', message: 'nests more than 32 levels deep' },
    ]);
    expect(await logsOf('job-deep-33')).toEqual([]);
  });

  it('answers 400 naming the field for a test input nested 33 or 10 000 levels, never 500', async () => {
    // Prepare
    const created = await api('POST', '/hooks', {
      name: 'deep-test',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'studio',
      config: { script: 'exit 0' },
    });

    // Act
    const answers = await Promise.all(
      [33, 10_000].map((levels) =>
        api('POST', `/hooks/${created.body.id}/test`, `{"input":{"metadata":${nestedText(levels)}}}`),
      ),
    );
    const hookBody = await api(
      'POST',
      '/hooks',
      `{"name":"deep-env","type":"shell","hookPoint":"post_segment","scopeType":"studio","config":{"script":"exit 0","env":${nestedText(5_000)}}}`,
    );

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([
        { path: 'input.metadata', message: 'nests more than 32 levels deep' },
      ]);
    }
    expect(hookBody.status).toBe(400);
    expect(hookBody.body.errors).toEqual([{ path: 'config.env', message: 'nests more than 32 levels deep' }]);
  });
});

describe('arbitrary JSON (property-based)', () => {
  const prototypeNames = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype'];
  const key = fc.oneof(fc.constantFrom(...prototypeNames), fc.string({ maxLength: 8 }));
  /** Objects built with own keys (`Object.fromEntries`), so `__proto__` is a key, not a prototype. */
  const jsonWithPrototypeKeys: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2 }),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => Object.fromEntries(entries)),
    ),
  })).value;
  /** Now and then far deeper than allowed; often a plain map of strings, as env and headers are. */
  const anyValue = fc.oneof(
    { weight: 4, arbitrary: jsonWithPrototypeKeys },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 200 }).map(nested) },
    {
      weight: 3,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom(...prototypeNames), fc.stringMatching(/^[A-Z_]{1,6}$/)),
            fc.string(),
          ),
          {
            maxLength: 4,
          },
        )
        .map((entries) => Object.fromEntries(entries)),
    },
  );
  /** The stage contract's rule for metadata and scene context, restated as the oracle. */
  const acceptable = (value: unknown) =>
    isJsonObject(value) && jsonTooDeepAt(value, 32) === null && Buffer.byteLength(text(value)) <= 32 * 1024;
  const isProblemNaming = (answer: ApiAnswer, fields: string[]) =>
    answer.status >= 400 &&
    answer.status < 500 &&
    Array.isArray(answer.body?.errors) &&
    answer.body.errors.length > 0 &&
    answer.body.errors.every((e: { path: string }) =>
      fields.some((f) => e.path === f || e.path.startsWith(`${f}.`)),
    );

  it('answers every hook definition with env and headers 201 or a 400 naming the field, and keeps what it took', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(anyValue, anyValue, async (env, headers) => {
        run++;
        const body = `{"name":"prop-${run}","type":"webhook","hookPoint":"post_delivery","scopeType":"project","scopeId":"p-prop","config":{"url":"${receiver.url('/p')}","headers":${text(headers)}}}`;
        const shell = `{"name":"prop-env-${run}","type":"shell","hookPoint":"post_delivery","scopeType":"project","scopeId":"p-prop","config":{"script":"exit 0","env":${text(env)}}}`;
        for (const [raw, field, name] of [
          [body, 'config.headers', 'headers'],
          [shell, 'config.env', 'env'],
        ] as const) {
          const answer = await api('POST', '/hooks', raw);
          if (answer.status === 201) {
            const read = await api('GET', `/hooks/${answer.body.id}`);
            expect(text(read.body.config[name])).toBe(text(JSON.parse(raw).config[name]));
            expect((await api('DELETE', `/hooks/${answer.body.id}`)).status).toBe(204);
          } else {
            expect(isProblemNaming(answer, [field]), answer.text).toBe(true);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('answers every test input 200 or a 400 naming the field, and logs what it ran with', async () => {
    const created = await api('POST', '/hooks', {
      name: 'prop-test',
      type: 'shell',
      hookPoint: 'post_delivery',
      scopeType: 'project',
      scopeId: 'p-prop',
      config: { script: 'exit 0' },
    });
    await fc.assert(
      fc.asyncProperty(anyValue, anyValue, async (metadata, sceneContext) => {
        const answer = await api(
          'POST',
          `/hooks/${created.body.id}/test`,
          `{"input":{"metadata":${text(metadata)},"sceneContext":${text(sceneContext)}}}`,
        );
        expect(answer.status === 200, answer.text).toBe(acceptable(metadata) && acceptable(sceneContext));
        if (answer.status === 200) {
          const log = await api('GET', `/hooks/${created.body.id}/logs?limit=1`);
          expect(log.body.items[0].id).toBe(answer.body.logId);
          expect(text(log.body.items[0].input.metadata)).toBe(text(metadata));
          expect(text(log.body.items[0].input.sceneContext)).toBe(text(sceneContext));
        } else {
          expect(isProblemNaming(answer, ['input.metadata', 'input.sceneContext']), answer.text).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('runs and logs every stage event it accepts, and rejects the others naming the field', async () => {
    await t.define({
      name: 'prop-notify',
      type: 'webhook',
      hookPoint: 'pre_concatenation',
      scopeType: 'project',
      scopeId: 'p-prop',
      config: { url: receiver.url('/prop') },
    });
    let job = 0;
    await fc.assert(
      fc.asyncProperty(anyValue, anyValue, async (metadata, sceneContext) => {
        const jobId = `job-prop-${job++}`;
        const eventId = await t.emit({
          hookPoint: 'pre_concatenation',
          jobId,
          projectId: 'p-prop',
          metadata,
          sceneContext,
        });
        const described = await executionOf(eventId);
        expect(described.status === 'SUCCEEDED').toBe(acceptable(metadata) && acceptable(sceneContext));
        if (described.status === 'SUCCEEDED') {
          const [log] = await logsOf(jobId);
          const input = log?.input as Record<string, unknown>;
          expect(log?.status).toBe('passed');
          expect(text(input.metadata)).toBe(text(metadata));
          expect(text(input.sceneContext)).toBe(text(sceneContext));
        } else {
          expect(described.error).toBe('StageEvent.Invalid');
          const reasons = (await rejectionOf(eventId))?.reasons as Array<{ path: string }>;
          expect(reasons.length).toBeGreaterThan(0);
          for (const reason of reasons)
            expect(['detail.metadata', 'detail.sceneContext']).toContain(reason.path);
          expect(await logsOf(jobId)).toEqual([]);
        }
      }),
      { numRuns: 25 },
    );
  });
});
