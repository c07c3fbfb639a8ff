import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { TaskReport, TaskReporter } from '../aws-engine/ports';
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
