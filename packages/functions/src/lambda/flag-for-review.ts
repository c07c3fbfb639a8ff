/** Lambda entry point of the FlagForReview Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.flagForReview;
