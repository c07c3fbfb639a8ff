/** Lambda entry point of the ValidateAndClaim Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.validateAndClaim;
