import { adminApiClient } from '@test/admin-api';
import { HttpReceiver, type ReceivedRequest } from '@test/http-receiver';
import { startTestStack, type TestStack } from '@test/stack';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ADMIN = 'admin-token-for-the-template-tests';

let t: TestStack;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await HttpReceiver.start();
  t = await startTestStack({
    STAGEHOOKS_ADMIN_TOKEN: ADMIN,
    STAGEHOOKS_WEBHOOK_ALLOW: `127.0.0.1:${receiver.port}`,
  });
}, 120_000);
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const api = adminApiClient(() => t.stack.endpoints.api, ADMIN);

/** A chat-notify webhook at project `p-tmpl`, posting `bodyTemplate` to `path` on the receiver. */
const chatHook = (bodyTemplate: unknown, fields: Record<string, unknown> = {}, path = '/chat') => ({
  name: 'chat_notify',
  type: 'webhook',
  hookPoint: 'post_segment',
  scopeType: 'project',
  scopeId: 'p-tmpl',
  config: { url: receiver.url(path), bodyTemplate },
  ...fields,
});

const requestsAt = (path: string): ReceivedRequest[] => receiver.requests.filter((r) => r.url === path);

/** Standard Webhooks headers of a received request, as `Webhook.verify` takes them. */
const signed = (request: ReceivedRequest) =>
  Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [
      name,
      String(request.headers[name]),
    ]),
  );

const unknownMessage = (written: string) =>
  `unknown placeholder ${written}: a placeholder names a hook-input field (invocationId, hookPoint, jobId, projectId, sceneTypeId, segmentPath, metadata.<key>…, sceneContext.<key>…, hook.id, hook.name, hook.revision, attempt, test, outputs.<key>…, verdict)`;

let deep: unknown = 'leaf';
for (let i = 0; i < 33; i++) deep = { next: deep };

/** [case, bodyTemplate, the error's path, its message]. */
const refused: Array<[string, unknown, string, string]> = [
  [
    'an unknown placeholder',
    { text: 'job {{jobid}}' },
    'config.bodyTemplate.text',
    unknownMessage('{{jobid}}'),
  ],
  [
    'an unknown placeholder deep in an array',
    { blocks: [{ type: 'section', text: { text: 'by {{ hook.owner }}' } }] },
    'config.bodyTemplate.blocks.0.text.text',
    unknownMessage('{{ hook.owner }}'),
  ],
  [
    'a placeholder that is a whole-string template',
    '{{ job }}',
    'config.bodyTemplate',
    unknownMessage('{{ job }}'),
  ],
  [
    'an unterminated {{',
    { text: 'job {{jobId' },
    'config.bodyTemplate.text',
    'unterminated placeholder: the "{{" at character 5 has no closing "}}" (write \\{{ for a literal "{{")',
  ],
  [
    'an empty {{}}',
    { text: ['ok', 'x {{}}'] },
    'config.bodyTemplate.text.1',
    'empty placeholder {{}}: name a hook-input field, e.g. {{jobId}}',
  ],
  [
    'a path with spaces',
    { text: '{{ metadata.my key }}' },
    'config.bodyTemplate.text',
    'invalid placeholder {{ metadata.my key }}: a path is keys and array indexes joined by "." (metadata.files.0), without spaces or braces',
  ],
  [
    'a template over 16 KiB',
    { text: 'x'.repeat(16 * 1024) },
    'config.bodyTemplate',
    'must be at most 16 KiB as JSON',
  ],
  ['a template nested deeper than 32 levels', deep, 'config.bodyTemplate', 'nests more than 32 levels deep'],
];

describe('saving a webhook with a bodyTemplate', () => {
  let hookId: string;
  let revision: number;

  beforeAll(async () => {
    const created = await api('POST', '/hooks', {
      body: chatHook({ text: '{{jobId}}' }, { name: 'refusals' }),
    });
    expect(created.status).toBe(201);
    hookId = created.body.id;
    revision = created.body.revision;
  });

  it.each(refused.flatMap((c) => (['POST', 'PUT'] as const).map((method) => [method, ...c] as const)))(
    '%s refuses %s with a 400 naming where it is',
    async (method, _case, bodyTemplate, path, message) => {
      // Act
      const answer =
        method === 'POST'
          ? await api('POST', '/hooks', { body: chatHook(bodyTemplate) })
          : await api('PUT', `/hooks/${hookId}`, {
              body: { ...chatHook(bodyTemplate, { name: 'refusals' }), revision },
            });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.body.errors).toEqual([{ path, message }]);
    },
  );

  it('refuses a bodyTemplate on a script hook, which sends no body', async () => {
    const answer = await api('POST', '/hooks', {
      body: {
        ...chatHook({ text: '{{jobId}}' }, { type: 'shell' }),
        config: { script: 'true', bodyTemplate: {} },
      },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([{ path: 'config.bodyTemplate', message: 'is not a known field' }]);
  });

  it('keeps the template as sent, byte for byte, in every read and through a replace', async () => {
    // Prepare: as text, so the key order, a `__proto__` key and the escapes are exactly these
    const template =
      '{"__proto__":{"x":"{{jobId}}"},"text":"\\\\{{ literal }} and {{ metadata.resolution }} \\u2713","{{keys}}":[1,2.5,true,null,"{{outputs.media-probe}}"],"a":{}}';
    const body = JSON.stringify(chatHook(null, { name: 'round_trip' })).replace(
      '"bodyTemplate":null',
      `"bodyTemplate":${template}`,
    );

    // Act
    const created = await api('POST', '/hooks', { raw: body });
    const read = await api('GET', `/hooks/${created.body.id}`);
    const listed = await api('GET', '/hooks?scopeType=project&scopeId=p-tmpl');
    const replaced = await api('PUT', `/hooks/${created.body.id}`, {
      raw: `${body.slice(0, -1)},"revision":1}`,
    });
    const reread = await api('GET', `/hooks/${created.body.id}`);

    // Assess: the JSON text of the template, as each answer holds it
    const stored = JSON.stringify(JSON.parse(template));
    expect(created.status).toBe(201);
    expect(replaced.body.revision).toBe(2);
    for (const answer of [created, read, listed, replaced, reread])
      expect(answer.text).toContain(`"bodyTemplate":${stored}`);
    expect(JSON.stringify(read.body.config.bodyTemplate)).toBe(stored);
  });
});

describe('a webhook with a bodyTemplate at work', () => {
  it('test-runs with the rendered body, signed over the bytes sent, and answers with that body', async () => {
    // Prepare
    const created = await api('POST', '/hooks', {
      body: chatHook(
        {
          text: 'Test of {{hook.name}}: job {{jobId}} at {{metadata.resolution}} (test: {{test}})',
          take: '{{metadata.take}}',
          probe: '{{outputs.media-probe}}',
        },
        { name: 'chat_test' },
        '/chat/test',
      ),
    });

    // Act
    const run = await api('POST', `/hooks/${created.body.id}/test`, {
      body: {
        input: {
          jobId: 'job-tmpl',
          metadata: { resolution: '4k', take: 7 },
          outputs: { 'media-probe': { duration: 12.5 } },
        },
      },
    });

    // Assess
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'passed', responseStatus: 200 });
    const [request] = requestsAt('/chat/test');
    if (!request) throw new Error('no request');
    const expected = {
      text: 'Test of chat_test: job job-tmpl at 4k (test: true)',
      take: 7,
      probe: { duration: 12.5 },
    };
    expect(JSON.parse(request.body)).toStrictEqual(expected);
    expect(run.body.requestBody).toBe(request.body);
    expect(new Webhook(created.body.signingSecret).verify(request.body, signed(request))).toStrictEqual(
      expected,
    );
    // the hook's input is still shown as the hook input
    expect(run.body.input).toMatchObject({ jobId: 'job-tmpl', test: true, attempt: 1 });
  });

  it('posts the rendered body in a stage, with what earlier hooks handed on', async () => {
    // Prepare: a script that hands on a score, then the chat webhook that reports it
    await t.define({
      name: 'score',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p-tmpl-stage',
      sortOrder: 10,
      config: { script: 'echo \'{"status":"passed","data":{"score":0.93}}\'' },
    });
    const chat = await api('POST', '/hooks', {
      body: chatHook(
        { text: '{{jobId}} scored {{outputs.score.score}}', score: '{{outputs.score.score}}' },
        { scopeId: 'p-tmpl-stage', sortOrder: 20 },
        '/chat/stage',
      ),
    });
    expect(chat.status).toBe(201);

    // Act
    await t.emit({ hookPoint: 'post_segment', jobId: 'job-tmpl-stage', projectId: 'p-tmpl-stage' });
    const verdict = await t.receiver.verdict('job-tmpl-stage', 'post_segment');

    // Assess
    expect(verdict.detail.verdict).toBe('passed');
    expect(requestsAt('/chat/stage').map((r) => r.body)).toEqual([
      '{"text":"job-tmpl-stage scored 0.93","score":0.93}',
    ]);
  });
});
