import { ValidationError } from '@stagehooks/core/errors';
import { type AdminApiDeps, openApiDocument, type Route, routes } from '@stagehooks/functions/api';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../../src/api/route';

// Offline: how a route definition types and validates its request; the routes themselves are covered
// against the real local stack in test/e2e/api.test.ts.
const environment = {
  identity: { actor: 'ann', role: 'admin' as const },
  deps: {} as AdminApiDeps,
  waitBudgetMs: () => 1_000,
};

const echo = defineRoute({
  method: 'POST',
  path: '/things/{id}',
  summary: 'echo',
  access: 'write',
  params: z.strictObject({ id: z.string().min(2) }),
  query: z.strictObject({ limit: z.coerce.number().int().max(10).optional() }),
  body: z.strictObject({ name: z.string(), tags: z.array(z.string()).default([]) }),
  responses: { 200: { description: 'the request as parsed' } },
  handle: async ({ params, query, body }) => {
    expectTypeOf(params).toEqualTypeOf<{ id: string }>();
    expectTypeOf(query).toEqualTypeOf<{ limit?: number | undefined }>();
    expectTypeOf(body).toEqualTypeOf<{ name: string; tags: string[] }>();
    return { status: 200, body: { params, query, body } };
  },
});

const bare = defineRoute({
  method: 'GET',
  path: '/bare',
  summary: 'no schemas',
  access: 'read',
  responses: { 200: { description: 'nothing' } },
  handle: async ({ params, query, body }) => {
    expectTypeOf(params).toEqualTypeOf<Record<string, never>>();
    expectTypeOf(query).toEqualTypeOf<Record<string, never>>();
    expectTypeOf(body).toEqualTypeOf<undefined>();
    return { status: 200, body: { params, query, body: body ?? null } };
  },
});

const issuesOf = async (route: Route, request: Parameters<Route['handle']>[0]) => {
  const error = await route.handle(request, environment).catch((e: unknown) => e);
  if (!(error instanceof ValidationError)) throw new Error('expected a ValidationError');
  return error.issues;
};

describe('defineRoute', () => {
  it('hands its handler the request as the schemas output it (coerced, defaults filled)', async () => {
    const result = await echo.handle(
      { params: { id: 'x1' }, query: { limit: '5' }, body: { name: 'n' } },
      environment,
    );
    expect(result.body).toEqual({ params: { id: 'x1' }, query: { limit: 5 }, body: { name: 'n', tags: [] } });
    expect((await bare.handle({ params: {}, query: {}, body: undefined }, environment)).body).toEqual({
      params: {},
      query: {},
      body: null,
    });
  });

  it('refuses with one 400 naming every bad field of path, query and body', async () => {
    expect(
      await issuesOf(echo, { params: { id: 'x' }, query: { limit: '50' }, body: { name: 1, extra: true } }),
    ).toEqual([
      { path: 'path.id', message: expect.any(String) },
      { path: 'query.limit', message: expect.any(String) },
      { path: 'name', message: expect.any(String) },
      { path: 'extra', message: 'is not a known field' },
    ]);
  });

  it('says a required body is required, beside the other issues', async () => {
    expect(await issuesOf(echo, { params: { id: 'x' }, query: {}, body: undefined })).toEqual([
      { path: 'path.id', message: expect.any(String) },
      { path: '', message: 'the body is required' },
    ]);
  });

  it('keeps what the OpenAPI document is generated from', () => {
    expect(echo).toMatchObject({ method: 'POST', path: '/things/{id}', access: 'write' });
    expect(Object.keys(echo.params?.shape ?? {})).toEqual(['id']);
    for (const route of routes) expect(typeof route.handle).toBe('function');
  });
});

describe('the OpenAPI document', () => {
  // biome-ignore lint/suspicious/noExplicitAny: a generated JSON document, read by path
  const document = openApiDocument(routes, { serverUrl: 'http://127.0.0.1', version: 'test' }) as any;
  const answer = (path: string, method: string, status = '200') =>
    document.paths[path][method].responses[status].content['application/json'].schema;

  it('documents when, mode and outputSchema on every hook, as objects and an enum', () => {
    for (const variant of answer('/hooks/{id}', 'get').oneOf)
      expect(variant.properties).toMatchObject({
        when: { type: 'object', description: expect.any(String) },
        mode: { enum: ['inline', 'detached'], default: 'inline' },
        outputSchema: { type: 'object' },
      });
    const body = document.paths['/hooks'].post.requestBody.content['application/json'].schema;
    for (const variant of body.oneOf)
      expect(Object.keys(variant.properties)).toEqual(
        expect.arrayContaining(['when', 'mode', 'outputSchema']),
      );
  });

  it("documents a webhook's bodyTemplate as any JSON value, and the body a test run sent", () => {
    const webhook = answer('/hooks/{id}', 'get').oneOf.find(
      (variant: { properties: { type: { const?: string } } }) => variant.properties.type.const === 'webhook',
    );
    expect(webhook.properties.config.properties.bodyTemplate).toEqual({
      description: expect.stringContaining('{{path}} placeholders'),
    });
    expect(answer('/hooks/{id}/test', 'post').properties.requestBody).toMatchObject({ type: 'string' });
  });

  it('documents outputData and patch on logs, and data, patch, condition and outputs on test runs', () => {
    expect(answer('/jobs/{id}/hook-logs', 'get').properties.items.items.properties).toMatchObject({
      outputData: { type: ['object', 'null'] },
      patch: { anyOf: [{ properties: { segmentPath: {}, metadata: {} } }, { type: 'null' }] },
    });
    for (const [path, method] of [
      ['/hooks/{id}/test', 'post'],
      ['/hooks/{id}/test-runs/{runId}', 'get'],
    ] as const)
      expect(Object.keys(answer(path, method).properties)).toEqual(
        expect.arrayContaining(['data', 'patch', 'condition']),
      );
    const test = document.paths['/hooks/{id}/test'].post.requestBody.content['application/json'].schema;
    expect(test.properties.input.properties.outputs).toMatchObject({
      additionalProperties: { type: 'object' },
    });
  });
});
