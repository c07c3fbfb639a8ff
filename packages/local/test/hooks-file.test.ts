import { DynamoHookRegistry } from '@stagehooks/core/dynamodb';
import { ValidationError } from '@stagehooks/core/errors';
import { applyHooks, parseHooksFile } from '@stagehooks/local/hooks-file';
import { createTestTable } from '@test/dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let registry: DynamoHookRegistry;

beforeAll(async () => {
  table = await createTestTable();
  registry = new DynamoHookRegistry(table.doc, { tableName: table.tableName });
});
afterAll(() => table.drop());

const entry = (fields: Record<string, unknown> = {}) => ({
  name: 'flow_file',
  type: 'shell',
  hookPoint: 'post_segment',
  scopeType: 'project',
  scopeId: 'p-file',
  config: { script: 'true' },
  ...fields,
});

/** The issues a hooks file is refused with, as `path` strings. */
function refusedPaths(content: string): string[] {
  try {
    parseHooksFile(content);
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((issue) => issue.path);
    throw error;
  }
  throw new Error('expected the file to be refused');
}

describe('parseHooksFile, data-flow fields', () => {
  it('takes when, mode and outputSchema as POST /hooks does, mode inline unless given', () => {
    // Prepare
    const when = { metadata: { resolution: ['4k'] } };
    const outputSchema = { type: 'object', properties: { score: { type: 'number' } } };

    // Act
    const [plain, flow] = parseHooksFile(
      JSON.stringify([entry({ name: 'plain' }), entry({ when, outputSchema, mode: 'detached' })]),
    );

    // Assess
    expect(plain).toMatchObject({ mode: 'inline' });
    expect(plain?.when).toBeUndefined();
    expect(flow).toMatchObject({ when, outputSchema, mode: 'detached' });
  });

  it('refuses them as the API does, naming the entry and the field', () => {
    const paths = refusedPaths(
      JSON.stringify({
        hooks: [
          entry({ name: 'a', outputSchema: { type: 'nope' } }),
          entry({ name: 'b', when: { metadata: { resolution: '4k' } } }),
          entry({ name: 'c', mode: 'detached', failureMode: 'block' }),
          entry({ name: 'd', mode: 'sideways' }),
        ],
      }),
    );
    expect(
      paths.some((path) => path.startsWith('hooks.0.outputSchema')),
      paths.join(', '),
    ).toBe(true);
    expect(
      paths.some((path) => path.startsWith('hooks.1.when')),
      paths.join(', '),
    ).toBe(true);
    expect(paths).toContain('hooks.2.mode');
    expect(paths).toContain('hooks.3.mode');
  });

  it('keeps keys named like Object.prototype members in when and outputSchema', () => {
    // Prepare: as text, so `__proto__` is an own key
    const whenText = '{"metadata":{"__proto__":["a"],"constructor":["b"]}}';
    const schemaText = '{"type":"object","properties":{"__proto__":{"type":"object"},"constructor":{}}}';
    const text = `[${JSON.stringify(entry()).slice(0, -1)},"when":${whenText},"outputSchema":${schemaText}}]`;

    // Act
    const [hook] = parseHooksFile(text);

    // Assess: as text, which sees every own key
    expect(JSON.stringify(hook?.when)).toBe(whenText);
    expect(JSON.stringify(hook?.outputSchema)).toBe(schemaText);
  });
});

describe('applyHooks, data-flow fields', () => {
  it('updates a hook whose when, mode or outputSchema changed, and leaves one that matches alone', async () => {
    // Prepare
    const when = { metadata: { resolution: ['4k'] } };
    const apply = (fields: Record<string, unknown>) =>
      applyHooks(registry, parseHooksFile(JSON.stringify([entry({ name: 'applied', ...fields })])), 'ci');

    // Act
    const [created] = await apply({ when });
    const [again] = await apply({ when });
    const [newWhen] = await apply({ when: { metadata: { resolution: ['hd'] } } });
    const [detached] = await apply({ when: { metadata: { resolution: ['hd'] } }, mode: 'detached' });
    const [schema] = await apply({ mode: 'detached', outputSchema: { type: 'object' } });

    // Assess
    expect(created).toMatchObject({ action: 'created', hook: { when, mode: 'inline' } });
    expect(again).toMatchObject({ action: 'unchanged', hook: { revision: 1 } });
    expect(newWhen).toMatchObject({
      action: 'updated',
      hook: { revision: 2, when: { metadata: { resolution: ['hd'] } } },
    });
    expect(detached).toMatchObject({ action: 'updated', hook: { revision: 3, mode: 'detached' } });
    expect(schema).toMatchObject({
      action: 'updated',
      hook: { revision: 4, outputSchema: { type: 'object' } },
    });
    expect(schema?.hook.when).toBeUndefined();
  });
});

describe('hooks files, webhook body templates', () => {
  const webhook = (bodyTemplate: unknown, name = 'chat_file') =>
    entry({ name, type: 'webhook', config: { url: 'https://hooks.example.com/chat', bodyTemplate } });

  it('refuses a bad placeholder as the API does, naming the entry and the string', () => {
    expect(
      refusedPaths(JSON.stringify([webhook({ text: 'ok {{jobId}}' }), webhook({ text: '{{jobid}}' })])),
    ).toEqual(['hooks.1.config.bodyTemplate.text']);
  });

  it('updates a hook whose template only changed its key order, as the body it sends changes', async () => {
    // Prepare
    const apply = (bodyTemplate: unknown) =>
      applyHooks(registry, parseHooksFile(JSON.stringify([webhook(bodyTemplate)])), 'ci');

    // Act
    const [created] = await apply({ text: '{{jobId}}', job: '{{jobId}}' });
    const [again] = await apply({ text: '{{jobId}}', job: '{{jobId}}' });
    const [reordered] = await apply({ job: '{{jobId}}', text: '{{jobId}}' });

    // Assess
    expect(created?.action).toBe('created');
    expect(again).toMatchObject({ action: 'unchanged', hook: { revision: 1 } });
    expect(reordered).toMatchObject({ action: 'updated', hook: { revision: 2 } });
    const config = reordered?.hook.type === 'webhook' ? reordered.hook.config : undefined;
    expect(JSON.stringify(config?.bodyTemplate)).toBe('{"job":"{{jobId}}","text":"{{jobId}}"}');
  });
});
