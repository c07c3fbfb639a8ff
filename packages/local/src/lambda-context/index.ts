import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * Enough of a Lambda context for middy handlers called in-process. The time left counts down from
 * `timeoutSeconds`, as a Lambda's from its function timeout: middy ends a handler just before it runs
 * out (a fixed figure would cut a 60 s webhook or a 15 min script at that figure).
 */
export function lambdaContext(functionName: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
