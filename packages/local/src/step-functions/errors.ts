/** Thrown by a local Task handler: Retry and Catch match on `name`, like an AWS task error. */
export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}
