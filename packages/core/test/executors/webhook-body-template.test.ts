import { type HttpWebhookSender, WEBHOOK_BODY_LIMIT_BYTES } from '@stagehooks/core/executors/webhook';
import { HttpReceiver, senderTo } from '@test/http-receiver';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hookInput, newSigningSecret, signedHeaders, webhookHook } from './webhook-fixtures';

const signingSecret = newSigningSecret();

/** A Slack incoming-webhook payload, as the chat-notify catalog entry will send it. */
const slackTemplate = {
  text: 'Job {{jobId}} passed {{ hookPoint }} ({{metadata.resolution}})',
  blocks: [
    { type: 'section', text: { type: 'mrkdwn', text: '*{{jobId}}* — {{metadata.note}}' } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'attempt {{attempt}}, fps {{metadata.fps}}' }] },
  ],
  metadata: { event_type: 'stage_hooks', event_payload: '{{metadata}}' },
};

describe('HttpWebhookSender with a bodyTemplate, against a real HTTP receiver', () => {
  let receiver: HttpReceiver;
  let sender: HttpWebhookSender;

  beforeAll(async () => {
    receiver = await HttpReceiver.start();
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(() => {
    sender?.close();
    receiver.reset();
  });

  it('POSTs the rendered body as JSON, and the signature verifies against the bytes received', async () => {
    // Prepare
    sender = senderTo(receiver);
    const hook = webhookHook({ url: receiver.url(), bodyTemplate: slackTemplate });
    const input = hookInput({ metadata: { resolution: '4k', fps: 24, note: 'say "hi"},"evil":1 ✓' } });

    // Act
    const result = await sender.send(hook, input, signingSecret);

    // Assess
    expect(result.status).toBe('passed');
    const [request] = receiver.requests;
    if (!request) throw new Error('no request');
    expect(request.headers['content-type']).toBe('application/json');
    expect(Number(request.headers['content-length'])).toBe(Buffer.byteLength(request.body, 'utf8'));
    const expected = {
      text: 'Job job-42 passed post_segment (4k)',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*job-42* — say "hi"},"evil":1 ✓' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'attempt 1, fps 24' }] },
      ],
      metadata: { event_type: 'stage_hooks', event_payload: input.metadata },
    };
    expect(JSON.parse(request.body)).toStrictEqual(expected);
    expect(new Webhook(signingSecret).verify(request.body, signedHeaders(request))).toStrictEqual(expected);
  });

  it('renders each attempt from its own input: a retry says attempt 2, signed over its own body', async () => {
    // Prepare
    sender = senderTo(receiver);
    receiver.reply({ status: 503 }, { status: 200 });
    const hook = webhookHook({
      url: receiver.url(),
      retry: { maxAttempts: 2 },
      bodyTemplate: { text: '{{jobId}} try {{attempt}}', attempt: '{{attempt}}' },
    });

    // Act
    const result = await sender.send(hook, hookInput(), signingSecret);

    // Assess
    expect(result.status).toBe('passed');
    expect(receiver.requests.map((r) => r.body)).toEqual([
      '{"text":"job-42 try 1","attempt":1}',
      '{"text":"job-42 try 2","attempt":2}',
    ]);
    for (const request of receiver.requests)
      expect(new Webhook(signingSecret).verify(request.body, signedHeaders(request))).toEqual(
        JSON.parse(request.body),
      );
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('sends a template that is a string or a number as that JSON value', async () => {
    // Prepare
    sender = senderTo(receiver);

    // Act
    await sender.send(
      webhookHook({ url: receiver.url(), bodyTemplate: 'job {{jobId}}' }),
      hookInput(),
      signingSecret,
    );
    await sender.send(
      webhookHook({ url: receiver.url(), bodyTemplate: '{{metadata.fps}}' }),
      hookInput(),
      signingSecret,
    );

    // Assess
    expect(receiver.requests.map((r) => r.body)).toEqual(['"job job-42"', '24']);
  });

  it('refuses, without a request, a body rendered past the bound', async () => {
    // Prepare: 40 copies of 8 KiB of metadata, about 320 KiB
    sender = senderTo(receiver);
    const bodyTemplate = Array.from({ length: 40 }, () => '{{metadata}}');
    const input = hookInput({ metadata: { blob: 'x'.repeat(8 * 1024) } });

    // Act
    const result = await sender.send(
      webhookHook({ url: receiver.url(), bodyTemplate }),
      input,
      signingSecret,
    );

    // Assess
    expect(result).toMatchObject({ status: 'error', responseStatus: null });
    expect(result.errorMessage).toMatch(
      new RegExp(
        `^refused: the body rendered from bodyTemplate is \\d+ bytes, over the ${WEBHOOK_BODY_LIMIT_BYTES / 1024} KiB a webhook may send$`,
      ),
    );
    expect(receiver.requests).toHaveLength(0);
  });
});
