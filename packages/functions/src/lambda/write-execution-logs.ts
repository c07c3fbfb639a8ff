/** Lambda entry point of the WriteExecutionLogs Task state. */
import { lambdaHandlers } from './deps';

export const handler = lambdaHandlers.writeExecutionLogs;
