import { CAPTURE_LIMIT_BYTES } from '@stagehooks/core/domain';
import type { HttpWebhookSender, HttpWebhookSenderInit } from '@stagehooks/core/executors/webhook';
import { freePort } from '@test/free-port';
import { HttpReceiver, senderTo } from '@test/http-receiver';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  hookInput,
  newSigningSecret,
  signedHeaders,
  TableSecretResolver,
  webhookHook,
} from './webhook-fixtures';

const signingSecret = newSigningSecret();
const secrets = new TableSecretResolver({
  'prod/grader-token': 'tok-3c1f9e77a2',
  'prod/grader-basic': 'grader:pa55-w0rd-77',
  'prod/grader-key': 'key-a8d2e1f0',
});

describe('HttpWebhookSender against a real HTTP receiver', () => {
  let receiver: HttpReceiver;
  let sender: HttpWebhookSender;
  const senderFor = (options: Partial<HttpWebhookSenderInit> = {}) =>
    senderTo(receiver, { secrets, ...options });
  const hookAt = (config: Record<string, unknown> = {}) => webhookHook({ url: receiver.url(), ...config });

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

  describe('request', () => {
    it('POSTs the hook input as JSON, signed per Standard Webhooks', async () => {
      // Prepare
      sender = senderFor();
      const input = hookInput();

      // Act
      const result = await sender.send(hookAt(), input, signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      expect(receiver.requests).toHaveLength(1);
      const [request] = receiver.requests;
      if (!request) throw new Error('no request');
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/hook');
      expect(request.headers['content-type']).toBe('application/json');
      expect(JSON.parse(request.body)).toEqual(input);
      expect(new Webhook(signingSecret).verify(request.body, signedHeaders(request))).toEqual(input);
      expect(request.headers['webhook-id']).toBe(`msg_${input.invocationId}`);
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    });

    it('fails verification with another secret, so the signature is really bound to the key', async () => {
      // Prepare
      sender = senderFor();

      // Act
      await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      const [request] = receiver.requests;
      if (!request) throw new Error('no request');
      expect(() => new Webhook(newSigningSecret()).verify(request.body, signedHeaders(request))).toThrow(
        'No matching signature found',
      );
    });

    it('uses the configured method, path, query and headers', async () => {
      // Prepare
      sender = senderFor();
      const hook = hookAt({
        url: receiver.url('/grade/v2?studio=s1'),
        method: 'PUT',
        headers: { 'X-Studio': 's1', Accept: 'application/json' },
      });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      const [request] = receiver.requests;
      expect(request).toMatchObject({
        method: 'PUT',
        url: '/grade/v2?studio=s1',
        headers: { 'x-studio': 's1', accept: 'application/json', 'user-agent': 'stagehooks-webhook/1' },
      });
    });

    it('reuses the kept-alive connection across sends', async () => {
      // Prepare
      sender = senderFor();

      // Act
      await sender.send(hookAt(), hookInput(), signingSecret);
      await sender.send(hookAt(), hookInput({ invocationId: 'second' }), signingSecret);

      // Assess
      const [first, second] = receiver.requests;
      expect(first?.remotePort).toBeDefined();
      expect(second?.remotePort).toBe(first?.remotePort);
    });
  });

  describe('auth', () => {
    it.each([
      {
        auth: { type: 'bearer', secretRef: 'prod/grader-token' },
        header: 'authorization',
        sent: 'Bearer tok-3c1f9e77a2',
      },
      {
        auth: { type: 'basic', secretRef: 'prod/grader-basic' },
        header: 'authorization',
        sent: `Basic ${Buffer.from('grader:pa55-w0rd-77').toString('base64')}`,
      },
      {
        auth: { type: 'header', secretRef: 'prod/grader-key', headerName: 'X-Api-Key' },
        header: 'x-api-key',
        sent: 'key-a8d2e1f0',
      },
    ])('sends $auth.type auth from the resolved secret', async ({ auth, header, sent }) => {
      // Prepare
      sender = senderFor();

      // Act
      const result = await sender.send(hookAt({ auth }), hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      expect(receiver.requests[0]?.headers[header]).toBe(sent);
    });

    it('names the secretRef, not the value, and sends nothing when the secret is missing', async () => {
      // Prepare
      sender = senderFor();
      const hook = hookAt({ auth: { type: 'bearer', secretRef: 'prod/missing' } });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'error',
        errorMessage: 'auth secret "prod/missing" could not be resolved (ResourceNotFoundException)',
        responseStatus: null,
        responseBody: null,
      });
      expect(receiver.requests).toHaveLength(0);
    });

    it('refuses a basic-auth secret that is not user:password, without showing it', async () => {
      // Prepare
      sender = senderFor();
      const hook = hookAt({ auth: { type: 'basic', secretRef: 'prod/grader-token' } });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('error');
      expect(result.errorMessage).toBe(
        'auth secret "prod/grader-token" must hold "user:password" for basic auth',
      );
      expect(receiver.requests).toHaveLength(0);
    });

    it('times out when the secret resolver does not answer within the budget', async () => {
      // Prepare
      sender = senderFor({ secrets: { resolve: () => new Promise<string>(() => {}) } });
      const hook = hookAt({ timeoutSeconds: 1, auth: { type: 'bearer', secretRef: 'prod/slow' } });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'timed_out',
        errorMessage: 'auth secret "prod/slow" was not resolved within the 1 s budget',
      });
      expect(result.durationMs).toBeLessThan(1500);
      expect(receiver.requests).toHaveLength(0);
    });

    it('refuses a secret that cannot be a header value, without showing it', async () => {
      // Prepare
      sender = senderFor({ secrets: new TableSecretResolver({ 'prod/multiline': 'tok-1\r\nx-evil: 1' }) });
      const hook = hookAt({ auth: { type: 'bearer', secretRef: 'prod/multiline' } });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('error');
      expect(result.errorMessage).toBe(
        'auth secret "prod/multiline" is empty or holds characters an HTTP header cannot carry',
      );
      expect(receiver.requests).toHaveLength(0);
    });

    it('refuses an auth header name the sender owns', async () => {
      // Prepare
      sender = senderFor();
      const hook = hookAt({
        auth: { type: 'header', secretRef: 'prod/grader-key', headerName: 'Webhook-Signature' },
      });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('error');
      expect(result.errorMessage).toContain('"webhook-signature" is set by stagehooks');
      expect(receiver.requests).toHaveLength(0);
    });

    it('redacts secret values a receiver echoes back', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply((request) => ({
        status: 400,
        body: JSON.stringify({ got: request.headers.authorization, sig: signingSecret }),
      }));
      const hook = hookAt({ auth: { type: 'basic', secretRef: 'prod/grader-basic' } });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('failed');
      expect(result.responseBody).toBe('{"got":"[redacted]","sig":"[redacted]"}');
    });
  });

  describe('result', () => {
    it('passes on 2xx and takes message and data from a JSON body', async () => {
      // Prepare
      sender = senderFor();
      const body = JSON.stringify({ status: 'passed', message: 'graded', data: { lut: 'warm' } });
      receiver.reply({ status: 201, headers: { 'content-type': 'application/json' }, body });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result).toEqual({
        status: 'passed',
        exitCode: null,
        stdout: null,
        stderr: null,
        responseStatus: 201,
        responseBody: body,
        errorMessage: null,
        message: 'graded',
        data: { lut: 'warm' },
        truncated: false,
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        durationMs: expect.any(Number),
      });
      expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result.startedAt));
    });

    it('fails on 2xx when the JSON body says status "failed"', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({
        body: JSON.stringify({ status: 'failed', message: 'too dark', data: { luma: 0.1 } }),
      });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        responseStatus: 200,
        message: 'too dark',
        data: { luma: 0.1 },
        errorMessage: '1 attempt: 200 with status "failed"',
      });
      expect(receiver.requests).toHaveLength(1);
    });

    it('hands data and a patch on as the body gives them, with or without a status', async () => {
      // Prepare
      sender = senderFor();
      const patch = { segmentPath: 's3://b/graded.mp4', metadata: { graded: true, draft: null } };
      receiver.reply(
        { body: JSON.stringify({ data: { lut: 'warm' }, patch }) },
        { body: JSON.stringify({ status: 'failed', patch: { unknown: 1 }, data: 5 }) },
        { body: 'not json {"data":{}}' },
      );

      // Act
      const passed = await sender.send(hookAt(), hookInput(), signingSecret);
      const failed = await sender.send(hookAt(), hookInput(), signingSecret);
      const plain = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess: passed on, unchecked (the engine checks them, naming what is wrong)
      expect(passed).toMatchObject({ status: 'passed', data: { lut: 'warm' }, patch });
      expect(failed).toMatchObject({ status: 'failed', data: 5, patch: { unknown: 1 } });
      expect(plain.status).toBe('passed');
      expect(plain).not.toHaveProperty('data');
      expect(plain).not.toHaveProperty('patch');
    });

    it('fails a 2xx body nested deeper than a report may, naming the bound and keeping the body', async () => {
      // Prepare: data 33 levels deep, in a report of 34
      sender = senderFor();
      const body = `{"data":${'{"a":'.repeat(33)}1${'}'.repeat(33)}}`;
      receiver.reply({ body });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        responseBody: body,
        errorMessage:
          "the response body nests more than 33 levels deep: a result's data and patch may nest 32",
      });
      expect(result).not.toHaveProperty('data');
    });

    it('fails on 4xx without retrying, keeping the response', async () => {
      // Prepare
      sender = senderFor();
      receiver.replyAlways({ status: 404, body: 'no such hook' });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        responseStatus: 404,
        responseBody: 'no such hook',
        errorMessage: '1 attempt: 404',
      });
      expect(receiver.requests).toHaveLength(1);
    });

    it('cuts a 1 MiB response at the capture limit and stops reading', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({ body: Buffer.alloc(1024 * 1024, 'a') });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      expect(result.truncated).toBe(true);
      expect(Buffer.byteLength(result.responseBody ?? '')).toBe(CAPTURE_LIMIT_BYTES);
    });

    it('cuts on a character boundary', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({ body: '€'.repeat(CAPTURE_LIMIT_BYTES) });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      const body = result.responseBody ?? '';
      expect(result.truncated).toBe(true);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(CAPTURE_LIMIT_BYTES);
      expect(body).toMatch(/^€+$/);
    });

    it('returns error, sending nothing, for a signing secret that is not whsec_', async () => {
      // Prepare
      sender = senderFor();

      // Act
      const result = await sender.send(hookAt(), hookInput(), 'not-a-secret');

      // Assess
      expect(result.status).toBe('error');
      expect(result.errorMessage).toContain('signing secret');
      expect(result.errorMessage).not.toContain('not-a-secret');
      expect(receiver.requests).toHaveLength(0);
    });
  });

  describe('retries', () => {
    it('retries 5xx and passes, with the same webhook-id and a valid signature each time', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({ status: 503 }, { status: 502 });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({ status: 'passed', responseStatus: 200, errorMessage: null });
      expect(receiver.requests).toHaveLength(3);
      const ids = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
      expect(ids).toEqual(new Set(['msg_01JINVOCATION000000000000A']));
      for (const request of receiver.requests) {
        expect(() => new Webhook(signingSecret).verify(request.body, signedHeaders(request))).not.toThrow();
      }
    });

    it('numbers each attempt in the body it sends, and signs that body', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({ status: 503 }, { status: 200 });
      const input = hookInput();

      // Act
      const result = await sender.send(hookAt(), input, signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      const [first, second] = receiver.requests;
      if (!first || !second) throw new Error('expected two requests');
      expect(new Webhook(signingSecret).verify(first.body, signedHeaders(first))).toEqual(input);
      expect(new Webhook(signingSecret).verify(second.body, signedHeaders(second))).toEqual({
        ...input,
        attempt: 2,
      });
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    });

    it('fails after maxAttempts, summarising every attempt and keeping the last response', async () => {
      // Prepare
      sender = senderFor();
      receiver.replyAlways({ status: 503, body: 'overloaded' });

      // Act
      const result = await sender.send(hookAt({ retry: { maxAttempts: 4 } }), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        responseStatus: 503,
        responseBody: 'overloaded',
        errorMessage: '4 attempts: 503, 503, 503, 503',
      });
      expect(receiver.requests).toHaveLength(4);
    });

    it('does not retry when maxAttempts is 1', async () => {
      // Prepare
      sender = senderFor();
      receiver.replyAlways({ status: 500 });

      // Act
      const result = await sender.send(hookAt({ retry: { maxAttempts: 1 } }), hookInput(), signingSecret);

      // Assess
      expect(result.errorMessage).toBe('1 attempt: 500');
      expect(receiver.requests).toHaveLength(1);
    });

    it('retries a dropped connection', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({ drop: true });

      // Act
      const result = await sender.send(hookAt(), hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      expect(receiver.requests).toHaveLength(2);
    });

    it('waits as long as a 429 Retry-After asks', async () => {
      // Prepare
      sender = senderFor();
      receiver.reply({ status: 429, headers: { 'retry-after': '1' } });

      // Act
      const result = await sender.send(hookAt({ timeoutSeconds: 5 }), hookInput(), signingSecret);

      // Assess
      expect(result.status).toBe('passed');
      const [first, second] = receiver.requests;
      expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
    });

    it('stops when a Retry-After does not fit in the remaining budget', async () => {
      // Prepare
      sender = senderFor();
      receiver.replyAlways({ status: 429, headers: { 'retry-after': '120' } });

      // Act
      const result = await sender.send(hookAt({ timeoutSeconds: 2 }), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        responseStatus: 429,
        errorMessage: '1 attempt: 429; Retry-After of 120 s does not fit in the remaining budget',
      });
      expect(result.durationMs).toBeLessThan(1000);
      expect(receiver.requests).toHaveLength(1);
    });

    it('fails with a summary when the port is closed', async () => {
      // Prepare
      const closedPort = await freePort();
      sender = senderFor({ allow: [`127.0.0.1:${closedPort}`] });
      const hook = webhookHook({ url: `http://127.0.0.1:${closedPort}/hook` });

      // Act
      const result = await sender.send(hook, hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'failed',
        responseStatus: null,
        responseBody: null,
        errorMessage: '3 attempts: connection refused, connection refused, connection refused',
      });
    });
  });

  describe('budget', () => {
    it('times out when the receiver answers after the whole budget', async () => {
      // Prepare
      sender = senderFor();
      receiver.replyAlways({ delayMs: 3000 });

      // Act
      const result = await sender.send(hookAt({ timeoutSeconds: 1 }), hookInput(), signingSecret);

      // Assess
      expect(result).toMatchObject({
        status: 'timed_out',
        responseStatus: null,
        errorMessage: '1 attempt: no answer within the 1 s budget',
      });
      expect(result.durationMs).toBeGreaterThanOrEqual(990);
      expect(result.durationMs).toBeLessThan(1500);
    });

    it('spends one budget across all attempts', async () => {
      // Prepare
      sender = senderFor();
      receiver.replyAlways({ status: 503, delayMs: 400 });

      // Act
      const result = await sender.send(
        hookAt({ timeoutSeconds: 1, retry: { maxAttempts: 10 } }),
        hookInput(),
        signingSecret,
      );

      // Assess
      expect(result.status).toBe('timed_out');
      expect(result.errorMessage).toMatch(/^3 attempts: 503, 503, no answer within the 1 s budget$/);
      expect(result.durationMs).toBeLessThan(1500);
    });
  });
});
