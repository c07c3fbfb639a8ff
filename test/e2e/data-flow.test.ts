import { type HookInput, stageDetachedCompletedDetailType } from '@stagehooks/core/domain';
import { HttpReceiver, type ReceivedRequest } from '@test/http-receiver';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let t: TestStack;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  // Each path answers as its webhook hook is scripted to (`answers`); the rest 200 with no body.
  receiver.replyAlways((request) => answers.get(new URL(request.url, 'http://x').pathname)?.(request) ?? {});
  t = await startTestStack({ STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}` });
}, 120_000);
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const answers = new Map<
  string,
  (request: ReceivedRequest) => { status?: number; body?: string; delayMs?: number }
>();
const json = (body: unknown, delayMs?: number) => () => ({
  body: JSON.stringify(body),
  ...(delayMs !== undefined && { delayMs }),
});
const bodiesAt = (path: string) =>
  receiver.requests.filter((r) => r.url === path).map((r) => JSON.parse(r.body) as HookInput);
const logsOf = async (jobId: string) => (await t.stack.logs.listByJob(jobId)).items;
const logOf = async (jobId: string, name: string) => {
  const log = (await logsOf(jobId)).find((l) => l.hookName === name);
  if (!log) throw new Error(`no log of ${name}`);
  return log;
};

/** A python hook that prints `report` (built from its input by `expression`) as its last line. */
const python = (expression: string) =>
  ['import json, sys', 'hook_input = json.load(sys.stdin)', `print(json.dumps(${expression}))`].join('\n');

/** A hook of project `project` at post_segment, in sort order `sortOrder`. */
const at = (project: string, sortOrder: number) =>
  ({ hookPoint: 'post_segment', scopeType: 'project', scopeId: project, sortOrder }) as const;

describe('hooks that hand data and patches on, through the local stack', () => {
  it('hands data to later hooks and the verdict, chains patches in order and ignores a failed hook’s patch', async () => {
    // Prepare: probe (webhook) -> grade (python) -> broken (fails with a patch) -> final (webhook)
    const project = 'p-df-chain';
    answers.set(
      '/chain/probe',
      json({
        data: { resolution: '4k', frames: 240 },
        patch: { segmentPath: 's3://b/job-df/graded.mp4', metadata: { probed: true, draft: null } },
      }),
    );
    await t.define({
      name: 'probe',
      type: 'webhook',
      ...at(project, 10),
      config: { url: receiver.url('/chain/probe') },
    });
    await t.define({
      name: 'grade',
      type: 'python',
      ...at(project, 20),
      config: {
        script: python(
          '{"data": {"sawSegment": hook_input["segmentPath"], "sawProbe": hook_input["outputs"]["probe"]}, "patch": {"segmentPath": "s3://b/job-df/watermarked.mp4", "metadata": {"graded": True}}}',
        ),
      },
    });
    await t.define({
      name: 'broken',
      type: 'shell',
      failureMode: 'warn',
      ...at(project, 30),
      config: {
        script:
          'echo \'{"status":"failed","data":{"why":"bad frame"},"patch":{"segmentPath":"s3://b/job-df/broken.mp4","metadata":{"graded":false}}}\'',
      },
    });
    await t.define({
      name: 'final',
      type: 'webhook',
      ...at(project, 40),
      config: { url: receiver.url('/chain/final') },
    });

    // Act
    await t.emit({
      hookPoint: 'post_segment',
      jobId: 'job-df',
      projectId: project,
      segmentPath: 's3://b/job-df/seg.mp4',
      metadata: { fps: 24, draft: true },
    });
    const verdict = await t.receiver.verdict('job-df', 'post_segment');

    // Assess: the verdict carries what passed hooks handed on, in order, and not the failed one's
    expect(verdict.detail).toMatchObject({ verdict: 'warned' });
    expect(
      (verdict.detail.results as Array<{ name: string; status: string }>).map((r) => [r.name, r.status]),
    ).toEqual([
      ['probe', 'passed'],
      ['grade', 'passed'],
      ['broken', 'failed'],
      ['final', 'passed'],
    ]);
    expect(verdict.detail.outputs).toEqual({
      probe: { resolution: '4k', frames: 240 },
      grade: { sawSegment: 's3://b/job-df/graded.mp4', sawProbe: { resolution: '4k', frames: 240 } },
    });
    expect(verdict.detail.stage).toEqual({
      segmentPath: 's3://b/job-df/watermarked.mp4',
      metadata: { fps: 24, probed: true, graded: true },
    });
    const probe = await logOf('job-df', 'probe');
    const grade = await logOf('job-df', 'grade');
    expect(verdict.detail.patches).toEqual([
      {
        name: 'probe',
        hookId: probe.hookId,
        patch: { segmentPath: 's3://b/job-df/graded.mp4', metadata: { probed: true, draft: null } },
      },
      {
        name: 'grade',
        hookId: grade.hookId,
        patch: { segmentPath: 's3://b/job-df/watermarked.mp4', metadata: { graded: true } },
      },
    ]);
    // the last hook got the stage as patched twice (a null deleted draft), and only passed hooks' outputs
    const [finalInput] = bodiesAt('/chain/final');
    expect(finalInput).toMatchObject({
      segmentPath: 's3://b/job-df/watermarked.mp4',
      metadata: { fps: 24, probed: true, graded: true },
    });
    expect(finalInput?.metadata).not.toHaveProperty('draft');
    expect(Object.keys(finalInput?.outputs ?? {})).toEqual(['probe', 'grade']);
    // each log keeps its data and the patch it applied; the failed one's data, and no patch
    expect([probe.outputData, probe.patch]).toEqual([
      { resolution: '4k', frames: 240 },
      { segmentPath: 's3://b/job-df/graded.mp4', metadata: { probed: true, draft: null } },
    ]);
    expect((grade.input as HookInput).outputs).toEqual({ probe: { resolution: '4k', frames: 240 } });
    expect((grade.input as HookInput).segmentPath).toBe('s3://b/job-df/graded.mp4');
    const broken = await logOf('job-df', 'broken');
    expect([broken.status, broken.outputData, broken.patch]).toEqual(['failed', { why: 'bad frame' }, null]);
    const final = await logOf('job-df', 'final');
    expect((final.input as HookInput).segmentPath).toBe('s3://b/job-df/watermarked.mp4');
  });

  it('fails a hook over each bound by one byte, naming the bound, and keeps its log', async () => {
    // Prepare: data and a patch of 8193 bytes as JSON (`{"pad":""}` is 10 bytes, `{"metadata":{"pad":""}}` 23)
    const project = 'p-df-bounds';
    const pad = (n: number) => `"${'x'.repeat(n)}"`;
    await t.define({
      name: 'big-data',
      type: 'python',
      failureMode: 'warn',
      ...at(project, 10),
      config: { script: python(`{"data": {"pad": ${pad(8193 - 10)}}}`) },
    });
    await t.define({
      name: 'big-patch',
      type: 'python',
      failureMode: 'warn',
      ...at(project, 20),
      config: { script: python(`{"patch": {"metadata": {"pad": ${pad(8193 - 23)}}}}`) },
    });
    // The stage bound: seven hooks of 8192 bytes of data, one of 8191: 65535 bytes; then `{}`, 2 more
    for (let i = 0; i < 8; i++) {
      await t.define({
        name: `fill-${i}`,
        type: 'webhook',
        ...at(project, 30 + i),
        config: { url: receiver.url(`/bounds/fill-${i}`) },
      });
      answers.set(`/bounds/fill-${i}`, json({ data: { pad: 'x'.repeat((i === 7 ? 8191 : 8192) - 10) } }));
    }
    await t.define({
      name: 'last-straw',
      type: 'webhook',
      failureMode: 'warn',
      ...at(project, 50),
      config: { url: receiver.url('/bounds/last-straw') },
    });
    answers.set('/bounds/last-straw', json({ data: {} }));

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-df-bounds', projectId: project });
    const verdict = await t.receiver.verdict('job-df-bounds', 'post_segment');

    // Assess
    const statuses = Object.fromEntries(
      (verdict.detail.results as Array<{ name: string; status: string }>).map((r) => [r.name, r.status]),
    );
    expect(statuses).toMatchObject({
      'big-data': 'failed',
      'big-patch': 'failed',
      'fill-7': 'passed',
      'last-straw': 'failed',
    });
    const bigData = await logOf('job-df-bounds', 'big-data');
    expect(bigData.errorMessage).toBe("data is 8193 bytes as JSON, over the 8 KiB bound on a hook's data");
    expect(bigData.stdout).toContain('x'.repeat(8000));
    expect(bigData.outputData).toEqual({ pad: 'x'.repeat(8183) });
    const bigPatch = await logOf('job-df-bounds', 'big-patch');
    expect(bigPatch.errorMessage).toBe("patch is 8193 bytes as JSON, over the 8 KiB bound on a hook's patch");
    expect(bigPatch.patch).toBeNull();
    const straw = await logOf('job-df-bounds', 'last-straw');
    expect(straw.errorMessage).toBe(
      "the stage's data and patches would be 65537 bytes as JSON, over the 64 KiB bound on a stage",
    );
    expect(straw.responseBody).toBe('{"data":{}}');
    expect(Object.keys(verdict.detail.outputs as object)).toHaveLength(8);
  });

  it('fails data that is not an object and a patch with a key it does not know, naming them', async () => {
    // Prepare
    const project = 'p-df-shapes';
    answers.set('/shapes/number', json({ data: 5 }));
    answers.set('/shapes/patch', json({ patch: { segmentPath: 's3://b/x.mp4', segment: 's3://b/y.mp4' } }));
    for (const [i, name] of ['number', 'patch'].entries()) {
      await t.define({
        name,
        type: 'webhook',
        failureMode: 'warn',
        ...at(project, i),
        config: { url: receiver.url(`/shapes/${name}`) },
      });
    }

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-df-shapes', projectId: project });
    const verdict = await t.receiver.verdict('job-df-shapes', 'post_segment');

    // Assess: both fail, nothing is handed on
    expect(verdict.detail).toMatchObject({ verdict: 'warned', outputs: {}, patches: [] });
    expect((await logOf('job-df-shapes', 'number')).errorMessage).toBe(
      'data must be a JSON object, not a number',
    );
    expect((await logOf('job-df-shapes', 'patch')).errorMessage).toBe(
      'patch.segment: not a patch field (segmentPath, metadata)',
    );
  });

  it('fails data that does not match the outputSchema, naming the path', async () => {
    // Prepare
    const project = 'p-df-schema';
    answers.set('/schema/probe', json({ data: { resolution: 2160 } }));
    await t.define({
      name: 'probe',
      type: 'webhook',
      failureMode: 'warn',
      ...at(project, 10),
      outputSchema: {
        type: 'object',
        properties: { resolution: { type: 'string' } },
        required: ['resolution'],
      },
      config: { url: receiver.url('/schema/probe') },
    });

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-df-schema', projectId: project });
    const verdict = await t.receiver.verdict('job-df-schema', 'post_segment');

    // Assess
    expect(verdict.detail).toMatchObject({ verdict: 'warned', outputs: {} });
    const log = await logOf('job-df-schema', 'probe');
    expect(log.status).toBe('failed');
    expect(log.errorMessage).toBe('data does not match outputSchema: data.resolution: must be string');
  });

  it('runs a hook whose condition matches, on the stage or an earlier hook’s output, and skips one that does not', async () => {
    // Prepare
    const project = 'p-df-when';
    answers.set('/when/probe', json({ data: { resolution: '4k' } }));
    await t.define({
      name: 'probe',
      type: 'webhook',
      ...at(project, 10),
      config: { url: receiver.url('/when/probe') },
    });
    await t.define({
      name: 'for-4k',
      type: 'webhook',
      ...at(project, 20),
      when: { outputs: { probe: { resolution: ['4k'] } } },
      config: { url: receiver.url('/when/for-4k') },
    });
    await t.define({
      name: 'for-8k',
      type: 'webhook',
      ...at(project, 30),
      when: { outputs: { probe: { resolution: ['8k'] } } },
      config: { url: receiver.url('/when/for-8k') },
    });
    await t.define({
      name: 'smooth',
      type: 'shell',
      ...at(project, 40),
      when: { metadata: { fps: [{ numeric: ['>=', 50] }] } },
      config: { script: 'exit 0' },
    });
    await t.define({
      name: 'cinema',
      type: 'shell',
      ...at(project, 50),
      when: { metadata: { fps: [{ numeric: ['<', 30] }] } },
      config: { script: 'exit 0' },
    });

    // Act
    await t.emit({
      hookPoint: 'post_segment',
      jobId: 'job-df-when',
      projectId: project,
      metadata: { fps: 24 },
    });
    const verdict = await t.receiver.verdict('job-df-when', 'post_segment');

    // Assess
    expect(
      (verdict.detail.results as Array<{ name: string; status: string }>).map((r) => [r.name, r.status]),
    ).toEqual([
      ['probe', 'passed'],
      ['for-4k', 'passed'],
      ['for-8k', 'skipped'],
      ['smooth', 'skipped'],
      ['cinema', 'passed'],
    ]);
    expect(bodiesAt('/when/for-4k')).toHaveLength(1);
    expect(bodiesAt('/when/for-8k')).toHaveLength(0);
    const skipped = await logOf('job-df-when', 'for-8k');
    expect([skipped.status, skipped.outcome, skipped.errorMessage]).toEqual([
      'skipped',
      'ignored',
      'condition not met',
    ]);
    expect((skipped.input as HookInput).outputs).toEqual({ probe: { resolution: '4k' } });
    const ids = (verdict.detail.results as Array<{ logId: string }>).map((r) => r.logId);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
  });

  it('runs detached hooks after the verdict, logs them all, a timed-out one too, and reports them', async () => {
    // Prepare: an inline hook, then two detached ones: a slow notification and a script that times out
    const project = 'p-df-detached';
    answers.set('/detached/notify', json({ data: { delivered: true } }, 1500));
    await t.define({ name: 'gate', type: 'shell', ...at(project, 10), config: { script: 'exit 0' } });
    await t.define({
      name: 'notify',
      type: 'webhook',
      failureMode: 'ignore',
      mode: 'detached',
      ...at(project, 1),
      config: { url: receiver.url('/detached/notify') },
    });
    await t.define({
      name: 'slow',
      type: 'shell',
      failureMode: 'warn',
      mode: 'detached',
      ...at(project, 20),
      config: { script: 'sleep 10', timeoutSeconds: 1 },
    });
    await t.define({
      name: 'never',
      type: 'shell',
      failureMode: 'warn',
      mode: 'detached',
      ...at(project, 30),
      when: { metadata: { tier: ['gold'] } },
      config: { script: 'exit 0' },
    });

    // Act
    const started = performance.now();
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-df-detached', projectId: project });
    const verdict = await t.receiver.verdict('job-df-detached', 'post_segment');
    const verdictAt = performance.now();
    const report = await t.receiver.waitFor(
      (e) => e['detail-type'] === stageDetachedCompletedDetailType && e.detail.jobId === 'job-df-detached',
    );

    // Assess: the verdict did not wait for the notification (1.5 s) nor the script (1 s)
    expect(verdictAt - started).toBeLessThan(1500);
    expect(
      (verdict.detail.results as Array<{ name: string; status: string; logId: unknown }>).map((r) => [
        r.name,
        r.status,
        r.logId === null,
      ]),
    ).toEqual([
      ['gate', 'passed', false],
      ['notify', 'detached', true],
      ['slow', 'detached', true],
      ['never', 'detached', true],
    ]);
    // the report has each one's result, citing a log that is there
    expect(report.detail).toMatchObject({
      hookPoint: 'post_segment',
      executionId: verdict.detail.executionId,
    });
    const results = report.detail.results as Array<{ name: string; status: string; logId: string }>;
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ['notify', 'passed'],
      ['slow', 'timed_out'],
      ['never', 'skipped'],
    ]);
    for (const result of results) {
      const log = await t.stack.logs.get(result.logId);
      expect(log?.hookName, result.name).toBe(result.name);
      expect(log?.status).toBe(result.status);
    }
    // a detached hook gets what the inline ones handed on
    expect(bodiesAt('/detached/notify')[0]?.outputs).toEqual({});
    expect((await logsOf('job-df-detached')).map((l) => l.hookName).sort()).toEqual([
      'gate',
      'never',
      'notify',
      'slow',
    ]);
  });
});
