import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '@stagehooks/local/step-functions';
import { StateMachine } from 'aws-local-stepfunctions';
import { JSONPath } from 'jsonpath-plus';
import { describe, expect, it } from 'vitest';

// patches/aws-local-stepfunctions+3.0.0.patch walks plain paths itself instead of asking jsonpath-plus:
// whatever the path, a state must see what jsonpath-plus would have answered.
const input = {
  run: {
    blocked: false,
    index: 0,
    current: { type: 'webhook', isolation: null, name: 'notify' },
    review: null,
    pending: [],
    results: [{ status: 'passed' }, { status: 'failed' }],
    plan: { hooks: [[1, 2], [3]], count: 2 },
  },
  zero: 0,
  nothing: null,
  empty: '',
  text: 'abc',
  list: ['a', 'b'],
  keyed: { '0': 'zero', 'a-b': 'dash' },
  _under: { x1: true },
};

const paths = [
  '$',
  '$.run',
  '$.run.blocked',
  '$.run.index',
  '$.run.current',
  '$.run.current.type',
  '$.run.current.isolation',
  '$.run.results[1].status',
  '$.run.plan.hooks[0][1]',
  '$.zero',
  '$.nothing',
  '$.run.review',
  '$.empty',
  '$.list[1]',
  '$._under.x1',
  // Not walked: jsonpath-plus answers these, as before the patch.
  '$.list.length',
  "$.keyed['a-b']",
  '$.run.results[*].status',
  '$.keyed[0]',
  '$.text.length',
  '$..status',
];

/** A machine of `definition`, unvalidated (these tests are about JSONPath, not the definition). */
const machineOf = (definition: ConstructorParameters<typeof StateMachine>[0]) =>
  new StateMachine(definition, { validationOptions: { noValidate: true } });

const EXECUTION_ID = 'arn:aws:states:us-east-1:000000000000:execution:m:e';

async function passState(parameters: Record<string, string>): Promise<Record<string, unknown>> {
  const machine = machineOf({
    StartAt: 'Read',
    States: { Read: { Type: 'Pass', Parameters: parameters, End: true } },
  });
  const execution = machine.run(input, { context: { Execution: { Id: EXECUTION_ID } } });
  return (await execution.result) as Record<string, unknown>;
}

describe('JSONPath in the patched emulator', () => {
  it.each(paths)('reads %s as jsonpath-plus does', async (path) => {
    // Act
    const output = await passState({ 'value.$': path });

    // Assess
    expect(output.value).toEqual(JSONPath({ path, json: input, wrap: false }));
  });

  it.each([
    '$.missing',
    '$.run.current.missing',
    '$.run.pending[0]',
    '$.list.a',
    '$.run.current.type.x',
    '$.run.review.decision',
  ])('fails a state whose path %s points to nothing, as before', async (path) => {
    // Act
    const run = passState({ 'value.$': path });

    // Assess
    expect(JSONPath({ path, json: input, wrap: false })).toBeUndefined();
    await expect(run).rejects.toThrow(`Path expression '${path}' does not point to a value`);
  });

  it('reads the context object ($$) the same way', async () => {
    // Act
    const output = await passState({ 'id.$': '$$.Execution.Id', 'input.$': '$$.Execution.Input.run.index' });

    // Assess
    expect(output.id).toBe(EXECUTION_ID);
    expect(output.input).toBe(0);
  });

  it('routes a Choice on the walked paths', async () => {
    // Prepare
    const machine = machineOf({
      StartAt: 'Route',
      States: {
        Route: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.run.blocked', BooleanEquals: true, Next: 'Blocked' },
            {
              And: [
                { Variable: '$.run.current', IsNull: true },
                { Variable: '$.run.pending[0]', IsPresent: true },
              ],
              Next: 'Blocked',
            },
            { Variable: '$.run.current.type', StringEquals: 'webhook', Next: 'Webhook' },
          ],
          Default: 'Blocked',
        },
        Blocked: { Type: 'Pass', Result: 'blocked', End: true },
        Webhook: { Type: 'Pass', Result: 'webhook', End: true },
      },
    });

    // Act
    const routed = await machine.run(input).result;

    // Assess
    expect(routed).toBe('webhook');
  });
});

describe('state input in the patched emulator', () => {
  it('is left as it was by a Choice (not copied) and a Pass whose ResultPath replaces part of it', async () => {
    // Prepare
    const machine = machineOf({
      StartAt: 'Route',
      States: {
        Route: {
          Type: 'Choice',
          Choices: [{ Variable: '$.n', NumericEquals: 1, Next: 'Add' }],
          Default: 'Add',
        },
        Add: { Type: 'Pass', Result: { replaced: true }, ResultPath: '$.inner.value', End: true },
      },
    });
    const given = { n: 1, inner: { value: 'old', kept: [1, 2] } };
    const before = structuredClone(given);

    // Act
    const execution = machine.run(given);
    const output = await execution.result;
    const entered = [];
    for await (const event of execution.eventLogs) if (event.type === 'StateEntered') entered.push(event);

    // Assess
    expect(output).toEqual({ n: 1, inner: { value: { replaced: true }, kept: [1, 2] } });
    expect(given).toEqual(before);
    for (const event of entered) expect((event as { state: { input: unknown } }).state.input).toEqual(before);
  });
});

describe('state data copies in the patched emulator', () => {
  it('keep a Pass state input as it was when States.JsonMerge merges into part of it', async () => {
    // Prepare: JsonMerge writes into its first argument, a part of the state input
    const machine = machineOf({
      StartAt: 'Merge',
      States: {
        Merge: {
          Type: 'Pass',
          Parameters: { 'merged.$': 'States.JsonMerge($.a, $.b, false)' },
          ResultPath: '$.out',
          End: true,
        },
      },
    });

    // Act
    const output = await machine.run({ a: { x: 1 }, b: { y: 2 } }).result;

    // Assess: as on AWS, the input's $.a is what it was
    expect(output).toEqual({ a: { x: 1 }, b: { y: 2 }, out: { merged: { x: 1, y: 2 } } });
  });

  it('keep a "__proto__" key a key', async () => {
    // Prepare: JSON.parse makes "__proto__" an own property
    const given = JSON.parse('{"data": {"__proto__": {"polluted": true}, "plain": 1}}') as never;
    const machine = machineOf({
      StartAt: 'Work',
      States: { Work: { Type: 'Task', Resource: 'arn:aws:lambda:::function:x', End: true } },
    });

    // Act
    const output = (await machine.run(given, {
      overrides: { taskResourceLocalHandlers: { Work: async (input) => input } },
    }).result) as { data: Record<string, unknown> };

    // Assess
    expect(Object.keys(output.data)).toEqual(['__proto__', 'plain']);
    expect(Object.getPrototypeOf(output.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('a Task state input in the patched emulator', () => {
  /** The part of a Task's output that its ResultPath did not touch, beside the same part of its input. */
  async function keptPart(readOnlyTaskInput: boolean) {
    const machine = machineOf({
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Resource: 'arn:aws:lambda:::function:x', ResultPath: '$.result', End: true },
      },
    });
    const execution = machine.run(
      { kept: { list: [1, 2] } },
      { overrides: { taskResourceLocalHandlers: { Work: async () => 'done' }, readOnlyTaskInput } },
    );
    const output = (await execution.result) as { kept: unknown; result: unknown };
    let entered: { kept: unknown } | undefined;
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered')
        entered = (event as unknown as { state: { input: { kept: unknown } } }).state.input;
    }
    return { output, input: entered?.kept };
  }

  it('is copied before its handler runs, unless the handlers promise to leave it as it is', async () => {
    // Act
    const copied = await keptPart(false);
    const shared = await keptPart(true);

    // Assess: the same output either way; with the promise, the untouched part is the input's own
    for (const { output } of [copied, shared])
      expect(output).toEqual({ kept: { list: [1, 2] }, result: 'done' });
    expect(copied.output.kept).not.toBe(copied.input);
    expect(shared.output.kept).toBe(shared.input);
  });
});

describe('the emulator patch', () => {
  it('is applied (npm ci runs patch-package as the postinstall step)', () => {
    // Prepare
    const file = fileURLToPath(import.meta.resolve('aws-local-stepfunctions'));

    // Act
    const source = readFileSync(file, 'utf8');

    // Assess
    expect(file).toMatch(/main\.node\.esm\.js$/);
    expect(source).toContain('function simplePathQuery(path, json)');
    expect(source).toContain('STATES_THAT_RUN_CODE.has(type)');
    expect(source).toContain('readOnlyTaskInput === true');
    expect(source).not.toContain('new EventTarget()');
    expect(source).not.toContain(
      'Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneJSON(v)]))',
    );
  });
});
