import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFunctionsTaskReporter } from '../../src/aws';
import { TaskReportError } from '../../src/errors';
import { clientConfig } from '../fixtures';

const client = new SFNClient(clientConfig);
const sfn = mockClient(client);
afterEach(() => sfn.reset());

const sdkError = (name: string) => Object.assign(new Error(`${name} from AWS`), { name });

describe('StepFunctionsTaskReporter', () => {
  it('sends the output as JSON with SendTaskSuccess', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});
    const reporter = new StepFunctionsTaskReporter(client);

    // Act
    const report = await reporter.succeed('token-1', { decision: 'approve', by: 'alice', comment: null });

    // Assess
    expect(report).toBe('reported');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'token-1',
      output: '{"decision":"approve","by":"alice","comment":null}',
    });
  });

  it('sends SendTaskFailure with error and cause cut to the service limits', async () => {
    // Prepare
    sfn.on(SendTaskFailureCommand).resolves({});
    const reporter = new StepFunctionsTaskReporter(client);

    // Act
    await reporter.fail('token-1', { error: `E${'r'.repeat(300)}`, cause: 'c'.repeat(40_000) });

    // Assess
    const input = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(input?.error).toHaveLength(256);
    expect(input?.cause).toHaveLength(32_768);
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])(
    'reports "closed" when the task no longer waits (%s)',
    async (name) => {
      // Prepare
      sfn.on(SendTaskSuccessCommand).rejects(sdkError(name));
      sfn.on(SendTaskHeartbeatCommand).rejects(sdkError(name));
      const reporter = new StepFunctionsTaskReporter(client);

      // Act
      const reports = [await reporter.succeed('token-1', {}), await reporter.heartbeat('token-1')];

      // Assess
      expect(reports).toEqual(['closed', 'closed']);
    },
  );

  it('throws a TaskReportError for other failures', async () => {
    // Prepare
    const invalid = sdkError('InvalidOutput');
    sfn.on(SendTaskSuccessCommand).rejects(invalid);
    const reporter = new StepFunctionsTaskReporter(client);

    // Act
    const error = await reporter.succeed('token-1', {}).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TaskReportError);
    expect(error).toMatchObject({ message: 'SendTaskSuccess failed: InvalidOutput', cause: invalid });
  });
});
