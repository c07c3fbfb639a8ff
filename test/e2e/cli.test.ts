import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '@stagehooks/local/cli';
import { DEMO_PROJECT, runDemo, startDemoReceiver } from '@stagehooks/local/demo';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let t: TestStack;
let demo: Awaited<ReturnType<typeof startDemoReceiver>>;
const demoPort = 0;

beforeAll(async () => {
  demo = await startDemoReceiver(demoPort);
  const port = (demo.server.address() as { port: number }).port;
  demo.url = `http://127.0.0.1:${port}`;
  t = await startTestStack({ STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${port}` });
  // The CLI reads the same STAGEHOOKS_* variables as the stack it talks to.
  process.env.STAGEHOOKS_AWS_PORT = String(t.stack.config.ports.aws);
  process.env.STAGEHOOKS_DYNAMODB_PORT = String(t.stack.config.ports.dynamodb);
  process.env.STAGEHOOKS_HOME = t.home;
}, 120_000);
afterAll(async () => {
  await t?.close();
  demo?.server.close();
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the demo', () => {
  it('registers its hooks and takes a job through all five stages, printing each stage', async () => {
    // Act
    const printed: string[] = [];
    await runDemo(t.stack, demo.url, (s) => printed.push(s));

    // Assess
    const text = printed.join('\n');
    expect(text).toContain('demo hooks: 12 registered');
    for (const point of [
      'post_variant',
      'pre_segment',
      'post_segment',
      'pre_concatenation',
      'post_delivery',
    ]) {
      expect(text).toContain(`${point}: PASSED`);
    }
    expect(text).toMatch(/check_frame_budget +passed +continued/);
    expect(text).toMatch(/loudness_check +passed +continued/);
    // a hook hands its findings on, a condition skips, a detached hook reports after its verdict
    expect(text).toMatch(/measure_segment +\{"frames":240,"durationSeconds":10,"resolution":"1080p"\}/);
    expect(text).toMatch(/check_frame_budget +\{"frames":240,"budget":480\}/);
    expect(text).toMatch(/upscale_check_4k +skipped +ignored/);
    expect(text).toMatch(/cdn_purge +detached +continued/);
    expect(text).toMatch(/post_delivery, after the verdict:\n.*\n.*\ncdn_purge +passed +continued/);
  }, 60_000);
});

describe('stagehooks hooks apply', () => {
  it('creates, then leaves alone, then updates, by name and scope', async () => {
    // Prepare
    const file = join(t.home, 'hooks.json');
    const hooks = [
      {
        name: 'cli_notify',
        type: 'webhook',
        hookPoint: 'pre_segment',
        scopeType: 'project',
        scopeId: 'p-cli',
        config: { url: 'https://hooks.example.com/n' },
      },
      {
        name: 'cli_check',
        type: 'shell',
        hookPoint: 'pre_segment',
        scopeType: 'project',
        scopeId: 'p-cli',
        config: { script: 'true' },
      },
    ];
    await writeFile(file, JSON.stringify({ hooks }));

    // Act
    const first = await cli('hooks', 'apply', '-f', file, '--actor', 'ci');
    const second = await cli('hooks', 'apply', '-f', file);
    hooks[1] = { ...hooks[1], config: { script: 'exit 0' } } as (typeof hooks)[number];
    await writeFile(file, JSON.stringify(hooks));
    const third = await cli('hooks', 'apply', '-f', file);

    // Assess
    expect(first).toMatchObject({ code: 0 });
    expect(first.out).toContain('2 created, 0 updated, 0 unchanged');
    expect(first.out).toMatch(/signing secret of cli_notify .*shown once: whsec_/);
    expect(second.out).toContain('0 created, 0 updated, 2 unchanged');
    expect(second.out).not.toContain('whsec_');
    expect(third.out).toContain('0 created, 1 updated, 1 unchanged');
    const stored = await t.stack.registry.hooksAt({ scopeType: 'project', scopeId: 'p-cli' }, 'pre_segment');
    expect(stored.map((h) => [h.name, h.revision, h.createdBy]).sort()).toEqual([
      ['cli_check', 2, 'ci'],
      ['cli_notify', 1, 'ci'],
    ]);
  });

  it('refuses a file with a bad hook, naming every field, and applies nothing', async () => {
    const file = join(t.home, 'bad.json');
    await writeFile(
      file,
      JSON.stringify([
        {
          name: 'good_one',
          type: 'shell',
          hookPoint: 'pre_segment',
          scopeType: 'project',
          scopeId: 'p-bad',
          config: { script: 'true' },
        },
        {
          name: 'Bad Name',
          type: 'shell',
          hookPoint: 'post_render',
          scopeType: 'project',
          scopeId: 'p-bad',
          config: { script: 'x', scriptPath: 'a.sh' },
        },
      ]),
    );
    const result = await cli('hooks', 'apply', '-f', file);
    expect(result.code).toBe(2);
    expect(result.err).toContain('hooks.1.name');
    expect(result.err).toContain('hooks.1.hookPoint');
    expect(result.err).toContain('hooks.1.config.scriptPath: give either script or scriptPath, not both');
    expect(await t.stack.registry.hooksAt({ scopeType: 'project', scopeId: 'p-bad' }, 'pre_segment')).toEqual(
      [],
    );
  });
});

describe('stagehooks hooks apply, with hooks that could never run', () => {
  it('refuses them as the admin API does, naming each entry and field, and applies nothing', async () => {
    // Prepare: a URL with credentials, a header no request can carry, too many variables, __proto__
    const file = join(t.home, 'unrunnable.json');
    const entry = (name: string, type: string, config: string) =>
      `{"name":"${name}","type":"${type}","hookPoint":"pre_segment","scopeType":"project","scopeId":"p-never","config":${config}}`;
    const manyVariables = JSON.stringify(
      Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`V${i}`, 'x'])),
    );
    await writeFile(
      file,
      `[${[
        entry('creds', 'webhook', '{"url":"https://ann:pw@hooks.example.com/x"}'),
        entry('title', 'webhook', '{"url":"https://hooks.example.com/x","headers":{"X-Title":"№5"}}'),
        entry('many', 'shell', `{"script":"true","env":${manyVariables}}`),
        entry('proto', 'shell', '{"script":"true","env":{"__proto__":"x"}}'),
      ].join(',')}]`,
    );

    // Act
    const result = await cli('hooks', 'apply', '-f', file);

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain('hooks.0.config.url: must not carry credentials');
    expect(result.err).toContain('hooks.1.config.headers.X-Title: may hold only');
    expect(result.err).toContain('hooks.2.config.env: has 300 variables; at most 256');
    expect(result.err).toContain('hooks.3.config.env.__proto__');
    expect(await t.stack.registry.list({ scopeType: 'project', scopeId: 'p-never' })).toEqual({ items: [] });
  });
});

describe('stagehooks emit and logs', () => {
  it('prints the verdict of a stage and its logs', async () => {
    // Prepare
    await t.define({
      name: 'emit_check',
      type: 'shell',
      hookPoint: 'post_variant',
      scopeType: 'project',
      scopeId: 'p-emit',
      config: { script: 'echo fine' },
    });

    // Act
    const emitted = await cli('emit', 'post_variant', '--job', 'job-cli', '--project', 'p-emit');
    const logs = await cli('logs', '--job', 'job-cli');

    // Assess
    expect(emitted.code).toBe(0);
    expect(emitted.out).toMatch(/post_variant: PASSED/);
    expect(emitted.out).toMatch(/emit_check +passed +continued/);
    expect(logs.out).toMatch(/post_variant +emit_check +passed +continued/);
  });

  it('prints what the hooks handed on: outputs, patches, the new segment, and the detached hooks', async () => {
    // Prepare
    const at = { hookPoint: 'pre_segment', scopeType: 'project', scopeId: 'p-emit-flow' } as const;
    await t.define({
      name: 'emit_probe',
      type: 'shell',
      ...at,
      config: {
        script: `echo '{"data":{"fps":24},"patch":{"segmentPath":"s3://b/graded.mp4","metadata":{"graded":true}}}'`,
      },
    });
    await t.define({
      name: 'emit_later',
      type: 'shell',
      ...at,
      sortOrder: 200,
      mode: 'detached',
      failureMode: 'ignore',
      config: { script: 'true' },
    });

    // Act
    const emitted = await cli('emit', 'pre_segment', '--job', 'job-cli-flow', '--project', 'p-emit-flow');

    // Assess
    expect(emitted.code).toBe(0);
    expect(emitted.out).toMatch(/emit_probe +\{"fps":24\}/);
    expect(emitted.out).toMatch(
      /emit_probe +\{"segmentPath":"s3:\/\/b\/graded.mp4","metadata":\{"graded":true\}\}/,
    );
    expect(emitted.out).toContain('segmentPath now s3://b/graded.mp4');
    expect(emitted.out).toMatch(/emit_later +detached/);
    expect(emitted.out).toMatch(/detached, after the verdict:\n.*\n.*\nemit_later +passed +continued/);
  });

  it('exits 3 and names the review when a block hook holds the stage', async () => {
    const detail = join(t.home, 'flagged.json');
    await writeFile(detail, JSON.stringify({ metadata: { flagged: true } }));
    const emitted = await cli(
      'emit',
      'post_delivery',
      '--job',
      'job-cli-flagged',
      '--project',
      DEMO_PROJECT,
      '--detail',
      detail,
    );
    expect(emitted.code).toBe(3);
    expect(emitted.out).toMatch(/BLOCKED, waiting for review \w+/);
  });

  it('says in one line what is wrong with a file or value an option names, exit 2', async () => {
    // Prepare
    const notJson = join(t.home, 'not-json.json');
    await writeFile(notJson, '{ "metadata": ');
    const notObject = join(t.home, 'array.json');
    await writeFile(notObject, '[1, 2]');
    const missing = join(t.home, 'no-such-detail.json');
    const emit = (...more: string[]) => cli('emit', 'post_variant', '--job', 'j', '--project', 'p', ...more);

    // Act
    const answers = [
      [await emit('--detail', missing), `--detail: cannot read ${missing} (no such file)`],
      [await emit('--detail', t.home), `--detail: cannot read ${t.home} (a folder)`],
      [await emit('--detail', notJson), `--detail: ${notJson} is not JSON`],
      [await emit('--detail', notObject), `--detail: ${notObject} must hold a JSON object`],
      [await emit('--timeout', 'soon'), '--timeout: must be a number of seconds'],
      [await cli('hooks', 'apply', '-f', missing), `-f: cannot read ${missing} (no such file)`],
      [await cli('hooks', 'list', '--scope-type', 'galaxy'), '--scope-type: must be one of studio, project'],
      [
        await cli('hooks', 'list', '--hook-point', 'post_render'),
        '--hook-point: must be one of post_variant',
      ],
      [await cli('logs', '--job', 'j', '--status', 'fine'), '--status: must be one of passed'],
    ] as const;

    // Assess
    for (const [answer, message] of answers) {
      expect(answer).toMatchObject({ code: 2, out: '' });
      expect(answer.err).toMatch(/^stagehooks: [^\n]+$/);
      expect(answer.err).toContain(message);
    }
  });

  it('says what is wrong with bad arguments', async () => {
    expect(await cli('emit', 'post_render', '--job', 'j', '--project', 'p')).toMatchObject({
      code: 2,
      err: expect.stringContaining('hookPoint: must be one of'),
    });
    expect(await cli('emit', 'post_variant')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--job: is required.*--project: is required/s),
    });
    expect(await cli('logs')).toMatchObject({ code: 2, err: expect.stringContaining('--job: is required') });
    expect(await cli('frobnicate')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(await cli('hooks', 'apply')).toMatchObject({
      code: 2,
      err: expect.stringContaining('-f: is required'),
    });
  });
});
