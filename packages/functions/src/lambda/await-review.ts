/** Lambda entry point of the AwaitReview Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.awaitReview;
