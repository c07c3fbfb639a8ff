/** Lambda entry point of the ResolveEffectiveHooks Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.resolveEffectiveHooks;
