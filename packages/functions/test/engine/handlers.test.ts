import type { RunHookArgs, StageTasks } from '@stagehooks/core/engine';
import { describe, expect, it } from 'vitest';
import { createStageHandlers } from '../../src/engine';
import { lambdaContext, poolJobFor } from '../fixtures';

/** Handlers over tasks that hand back what they were given. */
const handlers = createStageHandlers({
  runWebhook: async (args: RunHookArgs) => args,
} as unknown as StageTasks);
const job = () => poolJobFor({ id: 'hook_1', name: 'notify', revision: 3 }, 1);

describe('stage handlers', () => {
  it('hand a well-formed task input to the task as zod parsed it, equal to what came in', async () => {
    // Prepare
    const input = job();

    // Act
    const given = await handlers.RunWebhook(input, lambdaContext('RunWebhook'));

    // Assess
    expect(given).toStrictEqual(input);
  });

  it('drop a key the contract does not know, through the full parse', async () => {
    // Prepare: a definition one version ahead adds a field to the run state
    const input = job();
    const ahead = { ...input, run: { ...input.run, newField: 1 } };

    // Act
    const given = await handlers.RunWebhook(ahead as never, lambdaContext('RunWebhook'));

    // Assess
    expect(given).not.toBe(ahead);
    expect(given).toEqual(input);
  });

  it('fail a malformed input, naming the field', async () => {
    // Prepare
    const input = job();
    const malformed = { ...input, run: { ...input.run, index: 'one' } };

    // Act
    const error = await handlers.RunWebhook(malformed as never, lambdaContext('RunWebhook')).catch((e) => e);

    // Assess
    expect(error).toMatchObject({
      name: 'StageTask.InvalidInput',
      message: expect.stringContaining('run.index'),
    });
  });
});
