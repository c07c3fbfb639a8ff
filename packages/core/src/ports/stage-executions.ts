/** What the admin API reads about one execution of the stage state machine. */
export interface StageExecutionRecord {
  executionArn: string;
  name: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (Step Functions' words). */
  status: string;
  startDate: Date | undefined;
  stopDate: Date | undefined;
  /** The execution's output as JSON text, once it succeeded. */
  output: string | undefined;
}

export interface ExecutionHistoryPage {
  /** History events in Step Functions' form, task tokens still in them. */
  events: object[];
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  nextCursor?: string;
}

/** The executions Step Functions keeps (DescribeExecution, GetExecutionHistory; locally the same API). */
export interface StageExecutions {
  /** Undefined when Step Functions does not know the execution. */
  describe(executionArn: string): Promise<StageExecutionRecord | undefined>;
  /** Undefined when Step Functions does not know the execution; a cursor it did not issue is a 400. */
  history(
    executionArn: string,
    page: { cursor?: string | undefined; limit: number; reverse?: boolean | undefined },
  ): Promise<ExecutionHistoryPage | undefined>;
}
