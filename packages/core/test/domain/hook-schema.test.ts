import { validateHeaderValue } from 'node:http';
import {
  ExecutionLogDraft,
  Hook,
  HookCreate,
  HookReplace,
  MAX_ENV_BYTES,
  MAX_ENV_ENTRIES,
  parseOrThrow,
  StageEventDetail,
  safeParseFields,
} from '@stagehooks/core/domain';
import { ValidationError } from '@stagehooks/core/errors';
import { stageReachedEvent } from '@test/events';
import { describe, expect, it } from 'vitest';

const valid = {
  name: 'color_grade',
  type: 'shell',
  hookPoint: 'post_segment',
  scopeType: 'project',
  scopeId: 'p1',
  config: { script: 'exit 0' },
};
const webhook = { ...valid, type: 'webhook', config: { url: 'https://hooks.example.com/grade' } };

describe('HookCreate', () => {
  it('fills the defaults DESIGN.md names', () => {
    // Act
    const shell = HookCreate.parse(valid);
    const hook = HookCreate.parse(webhook);

    // Assess
    expect(shell).toMatchObject({ failureMode: 'warn', enabled: true, sortOrder: 100, description: '' });
    expect(shell.config).toEqual({ script: 'exit 0', timeoutSeconds: 30, isolation: 'pool' });
    expect(hook.config).toEqual({
      url: 'https://hooks.example.com/grade',
      method: 'POST',
      timeoutSeconds: 10,
    });
  });

  it('normalises an absent studio scope id to null', () => {
    expect(HookCreate.parse({ ...valid, scopeType: 'studio', scopeId: undefined }).scopeId).toBeNull();
  });

  it('accepts every documented option of each type', () => {
    const full = [
      {
        ...webhook,
        config: {
          url: 'http://hooks.example.com:8080/x?y=1',
          method: 'PUT',
          headers: { 'X-Studio': 'acme' },
          timeoutSeconds: 60,
          retry: { maxAttempts: 10 },
          auth: { type: 'header', secretRef: 'studio/hook-token', headerName: 'X-Token' },
          signingSecret: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
        },
      },
      {
        ...valid,
        config: {
          scriptPath: 'grading/apply.sh',
          args: ['--fast'],
          env: { LUT: 'warm' },
          timeoutSeconds: 900,
          isolation: 'task',
        },
      },
      { ...valid, type: 'python', config: { script: 'print(1)', venv: 'venvs/grading' } },
    ];
    for (const input of full) expect(safeParseFields(HookCreate, input)).toMatchObject({ success: true });
  });

  const invalid: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['an unknown type', { ...valid, type: 'perl' }, 'type', /one of webhook, shell, python/],
    ['an unknown hook point', { ...valid, hookPoint: 'post_render' }, 'hookPoint', /post_variant/],
    ['an unknown scope type', { ...valid, scopeType: 'team' }, 'scopeType', /studio/],
    ['an unknown failure mode', { ...valid, failureMode: 'explode' }, 'failureMode', /block/],
    ['a missing config', { ...valid, config: undefined }, 'config', /is required/],
    [
      'a config of another type',
      { ...valid, config: { url: 'https://a.example.com' } },
      'config.url',
      /not a known field/,
    ],
    [
      'neither script nor scriptPath',
      { ...valid, config: { args: [] } },
      'config.script',
      /unless scriptPath/,
    ],
    [
      'both script and scriptPath',
      { ...valid, config: { script: 'x', scriptPath: 'a.sh' } },
      'config.scriptPath',
      /not both/,
    ],
    [
      '".." in scriptPath',
      { ...valid, config: { scriptPath: 'lib/../../etc/passwd' } },
      'config.scriptPath',
      /\.\./,
    ],
    [
      'an absolute scriptPath',
      { ...valid, config: { scriptPath: '/etc/passwd' } },
      'config.scriptPath',
      /relative/,
    ],
    [
      'a script timeout over 900 s',
      { ...valid, config: { script: 'x', timeoutSeconds: 901 } },
      'config.timeoutSeconds',
      /900/,
    ],
    [
      'a webhook timeout over 60 s',
      { ...webhook, config: { url: 'https://a.example.com', timeoutSeconds: 61 } },
      'config.timeoutSeconds',
      /60/,
    ],
    [
      'a fractional timeout',
      { ...valid, config: { script: 'x', timeoutSeconds: 1.5 } },
      'config.timeoutSeconds',
      /int/,
    ],
    [
      'more than 10 attempts',
      { ...webhook, config: { url: 'https://a.example.com', retry: { maxAttempts: 11 } } },
      'config.retry.maxAttempts',
      /10/,
    ],
    [
      'a script over 64 KiB',
      { ...valid, config: { script: 'x'.repeat(64 * 1024 + 1) } },
      'config.script',
      /64 KiB/,
    ],
    ['a name with capitals and spaces', { ...valid, name: 'Color Grade' }, 'name', /a-z0-9/],
    ['a name over 64 characters', { ...valid, name: 'a'.repeat(65) }, 'name', /a-z0-9/],
    ['an unknown field', { ...valid, colour: 'red' }, 'colour', /not a known field/],
    [
      'an unknown config field',
      { ...valid, config: { script: 'x', shell: 'zsh' } },
      'config.shell',
      /not a known field/,
    ],
    [
      'a file:// webhook URL',
      { ...webhook, config: { url: 'file:///etc/passwd' } },
      'config.url',
      /http or https/,
    ],
    [
      'a non-URL webhook',
      { ...webhook, config: { url: 'hooks.example.com' } },
      'config.url',
      /http or https/,
    ],
    [
      'a signature header override',
      { ...webhook, config: { url: 'https://a.example.com', headers: { 'webhook-signature': 'x' } } },
      'config.headers.webhook-signature',
      /set by stagehooks/,
    ],
    [
      'credentials in a plain header',
      { ...webhook, config: { url: 'https://a.example.com', headers: { Authorization: 'Bearer x' } } },
      'config.headers.Authorization',
      /secretRef/,
    ],
    [
      'a header auth without its name',
      { ...webhook, config: { url: 'https://a.example.com', auth: { type: 'header', secretRef: 's' } } },
      'config.auth.headerName',
      /required/,
    ],
    [
      'a malformed signing secret',
      { ...webhook, config: { url: 'https://a.example.com', signingSecret: 'hunter2' } },
      'config.signingSecret',
      /whsec_/,
    ],
    [
      'a reserved env name',
      { ...valid, config: { script: 'x', env: { STAGEHOOKS_JOB_ID: 'x' } } },
      'config.env.STAGEHOOKS_JOB_ID',
      /set by stagehooks/,
    ],
    ['a project hook without scope id', { ...valid, scopeId: undefined }, 'scopeId', /required for project/],
    ['a studio hook with a scope id', { ...valid, scopeType: 'studio' }, 'scopeId', /studio/],
    ['a scope id with "#"', { ...valid, scopeId: 'p#1' }, 'scopeId', /letters, digits/],
    ['a string sortOrder', { ...valid, sortOrder: '10' }, 'sortOrder', /number/],
  ];

  it.each(invalid)('rejects %s, naming the field', (_case, input, path, message) => {
    // Act
    const result = safeParseFields(HookCreate, input);

    // Assess
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('throws a ValidationError that lists every field', () => {
    const act = () => parseOrThrow(HookCreate, { ...valid, name: 'Bad', failureMode: 'x' }, 'hook');
    expect(act).toThrow(ValidationError);
    try {
      act();
    } catch (error) {
      expect((error as ValidationError).issues.map((i) => i.path).sort()).toEqual(['failureMode', 'name']);
      expect((error as ValidationError).statusCode).toBe(400);
    }
  });
});

describe('HookReplace', () => {
  it('requires the revision the admin last read', () => {
    const result = safeParseFields(HookReplace, valid);
    expect(result).toMatchObject({ success: false, issues: [{ path: 'revision', message: 'is required' }] });
    expect(HookReplace.parse({ ...valid, revision: 3 }).revision).toBe(3);
  });
});

describe('Hook (stored)', () => {
  it('never holds a signing secret', () => {
    const stored = {
      ...HookCreate.parse(webhook),
      id: '01J0000000000000000000000',
      revision: 1,
      createdBy: 'alice',
      createdAt: '2026-11-20T12:00:00.000Z',
      updatedAt: '2026-11-20T12:00:00.000Z',
    };
    expect(Hook.safeParse(stored).success).toBe(true);
    const withSecret = { ...stored, config: { ...stored.config, signingSecret: `whsec_${'a'.repeat(40)}` } };
    expect(safeParseFields(Hook, withSecret)).toMatchObject({
      success: false,
      issues: [{ path: 'config.signingSecret', message: 'is not a known field' }],
    });
  });
});

describe('what can never run is refused when a hook is saved', () => {
  const envOf = (count: number, valueBytes = 1) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`V${i}`, 'x'.repeat(valueBytes)]));
  const withEnv = (env: unknown) => ({ ...valid, config: { script: 'x', env } });
  const withHeaders = (headers: unknown) => ({
    ...webhook,
    config: { url: 'https://a.example.com', headers },
  });
  const issuesOf = (schema: typeof HookCreate | typeof HookReplace, input: unknown) => {
    const result = safeParseFields(schema, input);
    return result.success ? [] : result.issues;
  };

  it.each([
    [
      'too many env variables',
      withEnv(envOf(MAX_ENV_ENTRIES + 1)),
      'config.env',
      /257 variables; at most 256/,
    ],
    [
      'env over 32 KiB of names and values',
      withEnv({ A: 'x'.repeat(4096), ...envOf(8, 4096 - 2) }),
      'config.env',
      /at most 32 KiB/,
    ],
    ['a NUL in an env value', withEnv({ A: 'a\0b' }), 'config.env.A', /NUL/],
    [
      'a NUL in an argument',
      { ...valid, config: { script: 'x', args: ['ok', 'a\0b'] } },
      'config.args.1',
      /NUL/,
    ],
    [
      'an env key __proto__',
      withEnv(JSON.parse('{"A":"1","__proto__":"x"}')),
      'config.env.__proto__',
      /name/,
    ],
    [
      'a header name __proto__',
      withHeaders(JSON.parse('{"__proto__":"x"}')),
      'config.headers.__proto__',
      /name/,
    ],
    [
      'a header value past Latin-1',
      withHeaders({ 'X-Title': 'Café №5' }),
      'config.headers.X-Title',
      /Latin-1/,
    ],
    [
      'a control character in a header',
      withHeaders({ 'X-Title': 'a\x7fb' }),
      'config.headers.X-Title',
      /Latin-1/,
    ],
    [
      'a header named twice',
      withHeaders({ 'X-Id': 'a', 'x-id': 'b' }),
      'config.headers.x-id',
      /repeats X-Id/,
    ],
    [
      'a URL with user and password',
      { ...webhook, config: { url: 'https://ann:hunter2@hooks.example.com/x' } },
      'config.url',
      /credentials.*auth/,
    ],
    [
      'a URL with a user only',
      { ...webhook, config: { url: 'https://token@hooks.example.com/x' } },
      'config.url',
      /credentials.*auth/,
    ],
  ])('refuses %s, naming the field, on create and on replace', (_case, input, path, message) => {
    for (const [schema, body] of [
      [HookCreate, input],
      [HookReplace, { ...input, revision: 1 }],
    ] as const) {
      expect(issuesOf(schema, body)).toContainEqual({ path, message: expect.stringMatching(message) });
    }
  });

  it('accepts the bounds themselves', () => {
    // 256 variables; 32 KiB of names and values exactly; Latin-1 and a tab in a header
    expect(issuesOf(HookCreate, withEnv(envOf(MAX_ENV_ENTRIES)))).toEqual([]);
    const full = { ...envOf(7, 4094), LAST: 'x'.repeat(MAX_ENV_BYTES - 7 * 4096 - 4) };
    expect(Object.entries(full).reduce((n, [k, v]) => n + k.length + v.length, 0)).toBe(MAX_ENV_BYTES);
    expect(issuesOf(HookCreate, withEnv(full))).toEqual([]);
    expect(issuesOf(HookCreate, withHeaders({ 'X-Title': 'Café\tcrème ÿ' }))).toEqual([]);
  });

  it('takes exactly the header values node:http sends', () => {
    for (let code = 0; code <= 0x2ff; code++) {
      const value = `a${String.fromCharCode(code)}b`;
      let sendable = true;
      try {
        validateHeaderValue('x-check', value);
      } catch {
        sendable = false;
      }
      const refused = issuesOf(HookCreate, withHeaders({ 'X-Check': value })).length > 0;
      expect({ code, refused }).toEqual({ code, refused: !sendable });
    }
  });

  it('still reads a hook stored before the rules, never showing URL credentials', () => {
    // Prepare: stored shapes these rules now refuse on save
    const meta = {
      id: '01J0000000000000000000001',
      revision: 1,
      createdBy: 'alice',
      createdAt: '2026-11-20T12:00:00.000Z',
      updatedAt: '2026-11-20T12:00:00.000Z',
      scopeId: 'p1',
    };
    const oldWebhook = {
      ...HookCreate.parse(webhook),
      ...meta,
      config: { url: 'https://ann:hunter2@hooks.example.com/x?y=1', method: 'POST', timeoutSeconds: 10 },
    };
    const oldShell = { ...HookCreate.parse(valid), ...meta, config: { script: 'x', env: envOf(300) } };

    // Act
    const webhookRead = Hook.parse(oldWebhook);
    const shellRead = Hook.parse(oldShell);

    // Assess
    expect(webhookRead.config).toMatchObject({ url: 'https://***:***@hooks.example.com/x?y=1' });
    expect(JSON.stringify(webhookRead)).not.toContain('hunter2');
    const userOnly = { ...oldWebhook, config: { ...oldWebhook.config, url: 'https://tok@h.example.com/' } };
    expect(Hook.parse(userOnly).config).toMatchObject({ url: 'https://***@h.example.com/' });
    expect(Object.keys((shellRead.config as { env: object }).env)).toHaveLength(300);
  });
});

describe('StageEventDetail', () => {
  const event = stageReachedEvent();

  it('parses the pipeline event fixture', () => {
    expect(StageEventDetail.parse(event.detail)).toMatchObject({
      hookPoint: 'post_segment',
      jobId: 'job-42',
      sceneTypeId: 'st-dance',
    });
  });

  it('defaults metadata and sceneContext, rejects unknown fields and bad points', () => {
    expect(StageEventDetail.parse({ hookPoint: 'pre_segment', jobId: 'j', projectId: 'p' })).toMatchObject({
      metadata: {},
      sceneContext: {},
    });
    const result = safeParseFields(StageEventDetail, { ...event.detail, hookPoint: 'post_render', extra: 1 });
    expect(result.success ? [] : result.issues.map((i) => i.path).sort()).toEqual(['extra', 'hookPoint']);
  });
});

describe('ExecutionLogDraft', () => {
  it('rejects a status outside the vocabulary', () => {
    const result = safeParseFields(ExecutionLogDraft.pick({ status: true }), { status: 'crashed' });
    expect(result).toMatchObject({ success: false, issues: [{ path: 'status' }] });
  });
});
