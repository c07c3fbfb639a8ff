/** Lambda entry point of the RecordExecution Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.recordExecution;
