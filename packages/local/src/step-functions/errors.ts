import { StagehooksError } from '@stagehooks/core/errors';

/** An error of the Step Functions API, with the `__type` the AWS SDK turns into its exception class. */
export class StepFunctionsApiError extends StagehooksError {
  override readonly statusCode = 400;
  constructor(
    readonly awsType: string,
    message: string,
  ) {
    super(message);
    this.name = awsType;
  }
}

/** Thrown by a local Task handler: Retry and Catch match on `name`, like an AWS task error. */
export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}
