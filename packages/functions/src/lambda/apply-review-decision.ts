/** Lambda entry point of the ApplyReviewDecision Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.applyReviewDecision;
