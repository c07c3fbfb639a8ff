import { StagehooksError } from '@stagehooks/core/errors';

/**
 * A request a local AWS service refuses as a whole (Step Functions, EventBridge), with the `__type` the
 * AWS SDK turns into its exception class; the endpoint answers it as AWS would.
 */
export class AwsApiError extends StagehooksError {
  override readonly statusCode = 400;
  constructor(
    readonly awsType: string,
    message: string,
  ) {
    super(message);
    this.name = awsType;
  }
}
