import type { Catalog } from '@stagehooks/core/catalog';
import type {
  EventClaims,
  ExecutionLogStore,
  HookRegistry,
  ReviewStore,
  ScriptTestQueue,
  StageExecutions,
  TaskReporter,
  WebhookSender,
} from '@stagehooks/core/ports';

/** What the admin API needs, as ports: the Lambda and the local stack each pass their adapters. */
export interface AdminApiDeps {
  registry: HookRegistry;
  logs: ExecutionLogStore;
  reviews: ReviewStore;
  claims: Pick<EventClaims, 'executionsOf'>;
  executions: StageExecutions;
  tasks: Pick<TaskReporter, 'succeed'>;
  webhooks: WebhookSender;
  /** Where script hooks' test runs go: the script runner, which logs them where the API reads them. */
  scriptTests: ScriptTestQueue;
  stateMachineArn: string;
  /** False when scripts run as plain subprocesses (no sandbox): then only admins may define or run them. */
  scriptsSandboxed: boolean;
  /** The ready-made hooks `GET /catalog` lists and `POST /catalog/{id}/install` installs. */
  catalog: Catalog;
}
