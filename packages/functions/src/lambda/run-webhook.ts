/** Lambda entry point of the RunWebhook Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.runWebhook;
