import { StoreUnavailableError } from '@stagehooks/core/errors';
import { type AdminApiDeps, createAdminApi, identityOf, MAX_BODY_BYTES } from '@stagehooks/functions/api';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { apiEvent } from '../fixtures';

// Offline: the handler's own behaviour (auth claims, limits, error shaping); the routes against real
// stores are covered end to end in test/e2e/api.test.ts.
const event = apiEvent;
const failing = (error: Error) =>
  ({
    registry: {
      list: async () => {
        throw error;
      },
    },
  }) as unknown as AdminApiDeps;

const context = {} as Context;

describe('identityOf', () => {
  it.each([
    ['an array', ['viewer', 'editor'], 'editor'],
    ['an HTTP API flattened array', '[viewer admin]', 'admin'],
    ['a comma list', 'viewer,other', 'viewer'],
  ])('reads the strongest role from %s', (_case, groups, role) => {
    expect(
      identityOf(
        event('GET', '/hooks', { claims: { sub: 'u1', email: 'ann@example.com', 'cognito:groups': groups } }),
        'cognito:groups',
      ),
    ).toEqual({
      actor: 'ann@example.com',
      role,
    });
  });

  it('says 401 without claims and 403 without a stagehooks role', () => {
    expect(() => identityOf(event('GET', '/hooks'), 'cognito:groups')).toThrow(
      expect.objectContaining({ statusCode: 401 }),
    );
    expect(() =>
      identityOf(
        event('GET', '/hooks', { claims: { sub: 'u1', 'cognito:groups': '[staff]' } }),
        'cognito:groups',
      ),
    ).toThrow(expect.objectContaining({ statusCode: 403 }));
  });
});

describe('createAdminApi', () => {
  const admin = { sub: 'root', 'cognito:groups': ['admin'] };

  it('refuses a body over the limit before parsing it (413)', async () => {
    const api = createAdminApi({} as AdminApiDeps);
    const result = await api(
      event('POST', '/hooks', { claims: admin, body: 'x'.repeat(MAX_BODY_BYTES + 1) }),
      context,
    );
    expect(result.statusCode).toBe(413);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
  });

  it('answers 415 to a body with no content type, before parsing it', async () => {
    const api = createAdminApi({} as AdminApiDeps);
    const untyped = { ...event('POST', '/hooks', { claims: admin, body: '{}' }), headers: {} };
    const result = await api(untyped, context);
    expect(result.statusCode).toBe(415);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
  });

  it('hides an unexpected failure behind a plain 500 and logs it server-side', async () => {
    const logged: unknown[] = [];
    const api = createAdminApi(failing(new Error('ddb host 10.1.2.3 refused: secret=hunter2')), {
      logError: (e) => logged.push(e),
    });
    const result = await api(event('GET', '/hooks', { claims: admin }), context);
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('hunter2');
    expect(result.body).not.toContain('10.1.2.3');
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({ status: 500, title: 'Internal Server Error' });
    expect(logged).toHaveLength(1);
  });

  it('answers 503 when the store is unavailable, saying nothing was written', async () => {
    const api = createAdminApi(failing(new StoreUnavailableError('list hooks')), {
      logError: () => undefined,
    });
    const result = await api(event('GET', '/hooks', { claims: admin }), context);
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body ?? '{}').detail).toMatch(/nothing was written/);
  });

  it('takes the groups claim it is told to', async () => {
    const api = createAdminApi({} as AdminApiDeps, { groupsClaim: 'roles' });
    const result = await api(
      event('GET', '/hook-points', { claims: { sub: 'u', roles: 'viewer' } }),
      context,
    );
    expect(result.statusCode).toBe(200);
  });
});

describe('script hooks without a sandbox', () => {
  const created = { hook: { id: 'h1' } };
  const deps = {
    scriptsSandboxed: false,
    registry: { create: async () => created, hooksAt: async () => [] },
  } as unknown as AdminApiDeps;
  const editor = { sub: 'erin', 'cognito:groups': ['editor'] };
  const hook = (type: string, config: object) =>
    JSON.stringify({
      name: 'x',
      type,
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: 'p1',
      config,
    });

  it('are an admin’s call: an editor gets 403 for a script, not for a webhook', async () => {
    const api = createAdminApi(deps);
    const script = await api(
      event('POST', '/hooks', { claims: editor, body: hook('shell', { script: 'true' }) }),
      context,
    );
    const webhook = await api(
      event('POST', '/hooks', {
        claims: editor,
        body: hook('webhook', { url: 'https://hooks.example.com/x' }),
      }),
      context,
    );
    expect(script.statusCode).toBe(403);
    expect(JSON.parse(script.body ?? '{}').detail).toMatch(/unsandboxed/);
    expect(webhook.statusCode).toBe(201);
  });
});
