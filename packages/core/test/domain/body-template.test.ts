import {
  BodyTemplate,
  bodyTemplateIssues,
  type HookInput,
  type JsonValue,
  renderBodyTemplate,
  safeParseFields,
  webhookBody,
} from '@stagehooks/core/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hookInput as baseHookInput } from '../executors/webhook-fixtures';

/** A hook input as a stage builds it; metadata from text, so `__proto__` in it is an own key. */
function hookInput(overrides: Partial<HookInput> = {}): HookInput {
  return baseHookInput({
    metadata: JSON.parse(
      '{"resolution":"4k","fps":24,"hdr":false,"files":["a.mp4","b.mp4"],"probe":{"codec":"h264"},"gone":null}',
    ),
    hook: { id: '01JWEBHOOK0000000000000000', name: 'chat-notify', revision: 3 },
    outputs: { 'media-probe': { duration: 12.5 }, lint_check: { ok: true } },
    ...overrides,
  });
}

/** `value` with every string emptied: what a template's rendering must keep. */
const shapeOf = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'string' ? '' : v)));

const render = (template: JsonValue, input = hookInput()) => renderBodyTemplate(template, input);

describe('renderBodyTemplate', () => {
  it('replaces a string that is one placeholder by the value, of its own JSON type', () => {
    expect(
      render({
        job: '{{jobId}}',
        fps: '{{ metadata.fps }}',
        hdr: '{{metadata.hdr}}',
        probe: '{{metadata.probe}}',
        files: '{{metadata.files}}',
        duration: '{{outputs.media-probe.duration}}',
        ok: '{{ outputs.lint_check.ok }}',
        revision: '{{hook.revision}}',
        sceneTypeId: '{{sceneTypeId}}',
        gone: '{{metadata.gone}}',
      }),
    ).toStrictEqual({
      job: 'job-42',
      fps: 24,
      hdr: false,
      probe: { codec: 'h264' },
      files: ['a.mp4', 'b.mp4'],
      duration: 12.5,
      ok: true,
      revision: 3,
      sceneTypeId: 'st-dance',
      gone: null,
    });
  });

  it('inserts a string as it is and any other value as its JSON text inside longer text', () => {
    expect(
      render(
        '{{jobId}} at {{ metadata.resolution }}, {{metadata.fps}} fps, hdr {{metadata.hdr}}, probe {{metadata.probe}}, files {{metadata.files}}, gone {{metadata.gone}}',
      ),
    ).toBe('job-42 at 4k, 24 fps, hdr false, probe {"codec":"h264"}, files ["a.mp4","b.mp4"], gone null');
  });

  it('renders a missing value as null for a whole string and as nothing inside text', () => {
    expect(
      render({
        whole: '{{metadata.nothing}}',
        deep: '{{metadata.probe.codec.x}}',
        pastEnd: '{{metadata.files.2}}',
        text: '[{{metadata.nothing}}]',
        unknownTop: '{{nothing}}',
      }),
    ).toStrictEqual({ whole: null, deep: null, pastEnd: null, text: '[]', unknownTop: null });
  });

  it('walks arrays and nested objects, by index segments too, and leaves non-strings as they are', () => {
    expect(
      render([
        { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'first: {{metadata.files.0}}' } }] },
        '{{metadata.files.1}}',
        7,
        true,
        null,
        [[['{{ hook.name }}']]],
      ]),
    ).toStrictEqual([
      { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'first: a.mp4' } }] },
      'b.mp4',
      7,
      true,
      null,
      [[['chat-notify']]],
    ]);
  });

  it('takes only canonical array indexes, never an array property such as length', () => {
    expect(render(['{{metadata.files.01}}', '{{metadata.files.length}}', '{{metadata.files.-1}}'])).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('keeps a value inside its string: quotes, braces and placeholders in it are text, not expanded', () => {
    // Prepare
    const input = hookInput({
      jobId: 'job"},"evil":1,"x":{"',
      metadata: { note: '{{jobId}}', quote: '"\\', nested: { text: '"},"evil":1' } },
    });

    // Act
    const body = webhookBody(
      {
        text: 'job {{jobId}} note {{metadata.note}}',
        note: '{{metadata.note}}',
        nested: 'n={{metadata.nested}}',
      },
      input,
    );

    // Assess
    const parsed = JSON.parse(body);
    expect(Object.keys(parsed)).toEqual(['text', 'note', 'nested']);
    expect(parsed).toStrictEqual({
      text: 'job job"},"evil":1,"x":{" note {{jobId}}',
      note: '{{jobId}}',
      nested: 'n={"text":"\\"},\\"evil\\":1"}',
    });
    expect(parsed.evil).toBeUndefined();
  });

  it('reads own keys only: no prototype member is ever a value', () => {
    // Prepare: __proto__ and constructor as own keys of one object, absent from the other
    const own = hookInput({ metadata: JSON.parse('{"__proto__":{"a":1},"constructor":"mine"}') });
    const template = {
      proto: '{{metadata.__proto__}}',
      ctor: '{{metadata.constructor}}',
      str: '{{metadata.toString}}',
      text: '[{{metadata.constructor.name}}][{{jobId.length}}][{{hook.hasOwnProperty}}]',
    };

    // Act
    const fromOwn = render(template, own);
    const fromNone = render(template, hookInput({ metadata: {} }));

    // Assess
    expect(JSON.stringify(fromOwn)).toBe('{"proto":{"a":1},"ctor":"mine","str":null,"text":"[][][]"}');
    expect(fromNone).toStrictEqual({ proto: null, ctor: null, str: null, text: '[][][]' });
  });

  it('copies keys as written, never rendered, and a __proto__ key stays a key', () => {
    // Prepare
    const template = JSON.parse('{"{{jobId}}":"{{jobId}}","__proto__":{"polluted":"{{jobId}}"}}');

    // Act
    const body = webhookBody(template, hookInput());

    // Assess
    expect(body).toBe('{"{{jobId}}":"job-42","__proto__":{"polluted":"job-42"}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('writes \\{{ as a literal {{, and a lone }} as it is', () => {
    expect(render('\\{{jobId}} is {{jobId}}; a }} stays')).toBe('{{jobId}} is job-42; a }} stays');
  });

  it('sends the hook input itself without a template', () => {
    const input = hookInput();
    expect(webhookBody(undefined, input)).toBe(JSON.stringify(input));
  });

  it('always renders valid JSON, whatever the input holds', () => {
    const text = fc.string({ unit: 'binary' });
    const template = fc
      .jsonValue({ maxDepth: 4 })
      .map((value) =>
        JSON.parse(
          JSON.stringify(value, (_key, v) =>
            typeof v === 'string' ? `${v}{{metadata.a}}${v}{{metadata.b}}` : v,
          ),
        ),
      );
    fc.assert(
      fc.property(template, fc.jsonValue({ maxDepth: 4 }), text, (template, a, b) => {
        const body = webhookBody(template as JsonValue, hookInput({ metadata: { a, b } }));
        // Valid JSON of the template's very shape: values filled in strings, no key or item added.
        expect(shapeOf(JSON.parse(body))).toStrictEqual(shapeOf(template));
      }),
    );
  });

  it('renders a template without placeholders as itself', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (template) => {
        fc.pre(!JSON.stringify(template).includes('{{'));
        expect(JSON.parse(webhookBody(template as JsonValue, hookInput()))).toStrictEqual(
          JSON.parse(JSON.stringify(template)),
        );
      }),
    );
  });
});

describe('bodyTemplateIssues', () => {
  it('takes placeholders that start at a hook-input field', () => {
    expect(
      bodyTemplateIssues([
        '{{invocationId}} {{hookPoint}} {{jobId}} {{projectId}} {{sceneTypeId}} {{segmentPath}}',
        '{{metadata}} {{metadata.a.b.0}} {{sceneContext.mood}} {{outputs.media-probe.duration}}',
        '{{hook}} {{hook.id}} {{hook.name}} {{hook.revision}} {{attempt}} {{test}} {{verdict}}',
        '{{\tjobId\n}} \\{{ not a placeholder',
      ]),
    ).toEqual([]);
  });

  it('names the string and the placeholder that names no hook-input field', () => {
    expect(
      bodyTemplateIssues({
        text: 'job {{jobid}}',
        blocks: [{ x: '{{hook.owner}}' }, '{{jobId.length}}', '{{toString}}', '{{__proto__}}'],
      }),
    ).toEqual([
      {
        path: ['text'],
        message: expect.stringMatching(
          /^unknown placeholder \{\{jobid\}\}: a placeholder names a hook-input field \(invocationId, hookPoint, jobId, .*metadata\.<key>…/,
        ),
      },
      {
        path: ['blocks', 0, 'x'],
        message: expect.stringMatching(/^unknown placeholder \{\{hook\.owner\}\}/),
      },
      { path: ['blocks', 1], message: expect.stringMatching(/^unknown placeholder \{\{jobId\.length\}\}/) },
      { path: ['blocks', 2], message: expect.stringMatching(/^unknown placeholder \{\{toString\}\}/) },
      { path: ['blocks', 3], message: expect.stringMatching(/^unknown placeholder \{\{__proto__\}\}/) },
    ]);
  });

  it('refuses an unterminated {{, an empty {{}} and a path that is no path', () => {
    expect(
      bodyTemplateIssues({ a: 'x {{jobId', b: '{{}} {{ }}', c: '{{metadata..x}} {{a b}} {{{jobId}}}' }),
    ).toEqual([
      {
        path: ['a'],
        message:
          'unterminated placeholder: the "{{" at character 3 has no closing "}}" (write \\{{ for a literal "{{")',
      },
      { path: ['b'], message: 'empty placeholder {{}}: name a hook-input field, e.g. {{jobId}}' },
      { path: ['b'], message: 'empty placeholder {{ }}: name a hook-input field, e.g. {{jobId}}' },
      ...['{{metadata..x}}', '{{a b}}', '{{{jobId}}'].map((written) => ({
        path: ['c'],
        message: `invalid placeholder ${written}: a path is keys and array indexes joined by "." (metadata.files.0), without spaces or braces`,
      })),
    ]);
  });

  it('never looks at keys', () => {
    expect(bodyTemplateIssues({ '{{nope}}': 'text', '{{': 1 })).toEqual([]);
  });
});

describe('BodyTemplate', () => {
  it('takes any JSON value up to 16 KiB, refusing a larger or deeper one at its root', () => {
    // Prepare
    const within = { text: 'x'.repeat(16 * 1024 - 11) };
    let deep: JsonValue = 'leaf';
    for (let i = 0; i < 33; i++) deep = [deep];

    // Act
    const results = [within, { text: 'x'.repeat(16 * 1024 - 10) }, deep, 'just {{jobId}}', 42].map((t) =>
      safeParseFields(BodyTemplate, t),
    );

    // Assess
    expect(JSON.stringify(within).length).toBe(16 * 1024);
    expect(results.map((r) => r.success)).toEqual([true, false, false, true, true]);
    expect(results[1]).toEqual({
      success: false,
      issues: [{ path: '', message: 'must be at most 16 KiB as JSON' }],
    });
    expect(results[2]).toEqual({
      success: false,
      issues: [{ path: '', message: 'nests more than 32 levels deep' }],
    });
  });
});
