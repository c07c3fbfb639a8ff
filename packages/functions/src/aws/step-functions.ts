import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ValidationError } from '@stagehooks/core/errors';
import type {
  ExecutionHistoryPage,
  StageExecutionRecord,
  StageExecutions,
  TaskReport,
  TaskReporter,
} from '@stagehooks/core/ports';
import { TaskReportError } from '../errors';

/** The task stopped waiting: it timed out, was completed already, or its execution ended. */
const closedNames = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** Step Functions' limits on SendTaskFailure's fields. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat for `.waitForTaskToken` tasks. */
export class StepFunctionsTaskReporter implements TaskReporter {
  constructor(private readonly client: SFNClient) {}

  succeed(taskToken: string, output: object): Promise<TaskReport> {
    return this.report('SendTaskSuccess', () =>
      this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    );
  }

  fail(taskToken: string, failure: { error: string; cause: string }): Promise<TaskReport> {
    return this.report('SendTaskFailure', () =>
      this.client.send(
        new SendTaskFailureCommand({
          taskToken,
          error: cut(failure.error, MAX_ERROR_CHARS),
          cause: cut(failure.cause, MAX_CAUSE_CHARS),
        }),
      ),
    );
  }

  heartbeat(taskToken: string): Promise<TaskReport> {
    return this.report('SendTaskHeartbeat', () =>
      this.client.send(new SendTaskHeartbeatCommand({ taskToken })),
    );
  }

  private async report(operation: string, send: () => Promise<unknown>): Promise<TaskReport> {
    try {
      await send();
      return 'reported';
    } catch (error) {
      if (error instanceof Error && closedNames.has(error.name)) return 'closed';
      throw new TaskReportError(operation, { cause: error });
    }
  }
}

/** GetExecutionHistory's longest nextToken. */
const MAX_NEXT_TOKEN_CHARS = 1024;

const notACursor = (cause?: unknown) =>
  new ValidationError('page request', [{ path: 'cursor', message: 'is not a cursor of this history' }], {
    cause,
  });

/** DescribeExecution and GetExecutionHistory for the admin API (locally: against the local endpoint). */
export class StepFunctionsExecutions implements StageExecutions {
  constructor(private readonly client: SFNClient) {}

  /** Undefined when Step Functions does not know the execution. */
  async describe(executionArn: string): Promise<StageExecutionRecord | undefined> {
    try {
      const result = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return {
        executionArn,
        name: result.name ?? executionArn.split(':').at(-1) ?? executionArn,
        status: result.status ?? 'UNKNOWN',
        startDate: result.startDate,
        stopDate: result.stopDate,
        output: result.output,
      };
    } catch (error) {
      if (error instanceof Error && (error.name === 'ExecutionDoesNotExist' || error.name === 'InvalidArn'))
        return undefined;
      throw error;
    }
  }

  async history(
    executionArn: string,
    page: { cursor?: string | undefined; limit: number; reverse?: boolean | undefined },
  ): Promise<ExecutionHistoryPage | undefined> {
    if (page.cursor !== undefined && page.cursor.length > MAX_NEXT_TOKEN_CHARS) throw notACursor();
    try {
      const result = await this.client.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: page.limit,
          nextToken: page.cursor,
          reverseOrder: page.reverse ?? false,
        }),
      );
      return { events: result.events ?? [], ...(result.nextToken && { nextCursor: result.nextToken }) };
    } catch (error) {
      if (error instanceof Error && (error.name === 'ExecutionDoesNotExist' || error.name === 'InvalidArn'))
        return undefined;
      // A token Step Functions did not issue for this history (or one that expired): the client's cursor.
      if (error instanceof Error && error.name === 'InvalidToken') throw notACursor(error);
      throw error;
    }
  }
}
