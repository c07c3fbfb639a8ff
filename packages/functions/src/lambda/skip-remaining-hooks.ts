/** Lambda entry point of the SkipRemainingHooks Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.skipRemainingHooks;
