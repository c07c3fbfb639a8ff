import { parseOrThrow, stagehooksBusName } from '@stagehooks/core/domain';
import { ValidationError } from '@stagehooks/core/errors';
import type { ScriptUser } from '@stagehooks/core/executors/script';
import { parseWebhookAllowlist } from '@stagehooks/core/executors/webhook';
import { z } from 'zod';

/** An empty variable counts as unset: infrastructure often writes '' for "no value". */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
const required = <S extends z.ZodType>(schema: S) => z.preprocess(unsetIfEmpty, schema);
const optional = <S extends z.ZodType>(schema: S) => z.preprocess(unsetIfEmpty, schema.optional());
/** The default goes through the schema too (zod `prefault`), so it is parsed like a given value. */
const withDefault = <S extends z.ZodType>(schema: S, value: z.input<S>) =>
  z.preprocess(unsetIfEmpty, schema.prefault(value as never));

const wholeNumber = (min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${what} from ${min} to ${max}` })
    .int({ error: `must be a whole number of ${what} from ${min} to ${max}` })
    .min(min, { error: `must be a whole number of ${what} from ${min} to ${max}` })
    .max(max, { error: `must be a whole number of ${what} from ${min} to ${max}` });

/** A numeric host uid or gid for scripts: Node takes int32 ids, and 0 (root) would defeat the purpose. */
const hostId = (what: 'user' | 'group') => {
  const error = `must be a numeric ${what} id from 1 to ${2 ** 31 - 1} (0 is root)`;
  return z.coerce
    .number({ error })
    .int({ error })
    .min(1, { error })
    .max(2 ** 31 - 1, { error });
};

const TableName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 letters, digits, "_", "." or "-")');
const EventBusName = z
  .string()
  .regex(/^[A-Za-z0-9._\-/:]{1,1600}$/, 'must be an EventBridge bus name or ARN');
const BucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'must be an S3 bucket name (3-63 lower-case letters, digits, "." or "-")',
  );
const QueueUrl = z.url({ protocol: /^https?$/, error: 'must be an SQS queue URL (https://sqs.<region>...)' });
const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region such as us-east-1');

/** STAGEHOOKS_WEBHOOK_ALLOW, checked entry by entry with the same parser the sender uses. */
const WebhookAllow = z.string().transform((value, ctx) => {
  try {
    return parseWebhookAllowlist(value);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  }
});

/** What every Lambda and the script-runner container read from their environment. */
export const FunctionsEnv = z.object({
  STAGEHOOKS_TABLE: required(TableName),
  STAGEHOOKS_LOG_RETENTION_DAYS: withDefault(wholeNumber(1, 3650, 'days'), 30),
  STAGEHOOKS_EVENT_BUS: withDefault(EventBusName, stagehooksBusName),
  STAGEHOOKS_WEBHOOK_ALLOW: withDefault(WebhookAllow, ''),
  /** Where `scriptPath` hooks live; without it such hooks end in status `error`. */
  STAGEHOOKS_SCRIPT_BUCKET: optional(BucketName),
  /** The pool runner's queue; of the Lambdas, only the admin API's needs it (script test runs). */
  STAGEHOOKS_SCRIPT_QUEUE_URL: optional(QueueUrl),
  /** Set by Lambda and by ECS on Fargate. */
  AWS_REGION: required(Region),
});

export interface FunctionsConfig {
  tableName: string;
  logRetentionDays: number;
  eventBusName: string;
  /** Non-public webhook destinations allowed, as `HttpWebhookSender` takes them. */
  webhookAllow: string[];
  scriptBucket: string | null;
  scriptQueueUrl: string | null;
  region: string;
}

function toConfig(env: z.output<typeof FunctionsEnv>): FunctionsConfig {
  return {
    tableName: env.STAGEHOOKS_TABLE,
    logRetentionDays: env.STAGEHOOKS_LOG_RETENTION_DAYS,
    eventBusName: env.STAGEHOOKS_EVENT_BUS,
    webhookAllow: env.STAGEHOOKS_WEBHOOK_ALLOW,
    scriptBucket: env.STAGEHOOKS_SCRIPT_BUCKET ?? null,
    scriptQueueUrl: env.STAGEHOOKS_SCRIPT_QUEUE_URL ?? null,
    region: env.AWS_REGION,
  };
}

/**
 * The Lambda environment. Call once, at cold start: a bad value throws a ValidationError naming each
 * variable and what is wrong with it, so the function fails at init rather than mid-stage.
 */
export function loadFunctionsConfig(env: NodeJS.ProcessEnv = process.env): FunctionsConfig {
  return toConfig(parseOrThrow(FunctionsEnv, env, 'environment'));
}

/** The script-runner container's environment: the shared variables plus how this container runs jobs. */
export const ScriptRunnerEnv = FunctionsEnv.extend({
  /** Default: `task` when STAGEHOOKS_TASK_TOKEN is set (ecs:runTask override), else `pool`. */
  STAGEHOOKS_RUNNER_MODE: optional(z.enum(['task', 'pool'])),
  /** task mode: the token of the waiting RunScriptInTask state. */
  STAGEHOOKS_TASK_TOKEN: optional(z.string().min(1).max(2048)),
  /** task mode: the job (HookTaskArgs) as JSON; parsed by the runner so a bad one is reported to the token. */
  STAGEHOOKS_JOB: optional(z.string().min(1)),
  /** pool mode: jobs run at once by one container. */
  STAGEHOOKS_SCRIPT_CONCURRENCY: withDefault(wholeNumber(1, 64, 'jobs'), 2),
  /** How long a stopping runner (SIGTERM) lets running scripts finish before it reports them interrupted. */
  STAGEHOOKS_SCRIPT_STOP_GRACE_SECONDS: withDefault(wholeNumber(0, 120, 'seconds'), 25),
  /**
   * The host user and group scripts run as, never the runner's (root): default 65534 (nobody, nogroup).
   * Another uid cannot read the runner's /proc/<pid>/environ (task-role credentials URI, task token).
   * A pool gives each of its STAGEHOOKS_SCRIPT_CONCURRENCY scripts a uid and gid of its own: these and
   * the ones below, kept for scripts alone (what a script leaves running under them is killed).
   */
  STAGEHOOKS_SCRIPT_UID: withDefault(hostId('user'), 65534),
  STAGEHOOKS_SCRIPT_GID: withDefault(hostId('group'), 65534),
}).superRefine((env, ctx) => {
  const mode = env.STAGEHOOKS_RUNNER_MODE ?? (env.STAGEHOOKS_TASK_TOKEN ? 'task' : 'pool');
  const need = (name: keyof typeof env, why: string) => {
    if (env[name] === undefined)
      ctx.addIssue({ code: 'custom', path: [name], message: `is required ${why}` });
  };
  if (mode === 'task') {
    need('STAGEHOOKS_TASK_TOKEN', 'in task mode');
    need('STAGEHOOKS_JOB', 'in task mode');
  } else {
    need('STAGEHOOKS_SCRIPT_QUEUE_URL', 'in pool mode');
    // Each script at once gets a uid and gid of its own, from these down. (A refused id has its issue already.)
    for (const [name, what] of [
      ['STAGEHOOKS_SCRIPT_UID', 'uids'],
      ['STAGEHOOKS_SCRIPT_GID', 'gids'],
    ] as const) {
      const id = env[name];
      if (Number.isSafeInteger(id) && id >= 1 && id - env.STAGEHOOKS_SCRIPT_CONCURRENCY < 0) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `leaves too few ${what} below it for ${env.STAGEHOOKS_SCRIPT_CONCURRENCY} scripts at once (one each, none 0)`,
        });
      }
    }
  }
});

export type ScriptRunnerMode =
  | { mode: 'task'; taskToken: string; job: string }
  | { mode: 'pool'; queueUrl: string; concurrency: number };

export interface ScriptRunnerConfig extends FunctionsConfig {
  runner: ScriptRunnerMode;
  stopGraceMs: number;
  /** ProcessScriptRunner's `runAs`. */
  scriptUser: ScriptUser;
}

/** The container's environment, parsed once at start; throws a ValidationError naming each bad variable. */
export function loadScriptRunnerConfig(env: NodeJS.ProcessEnv = process.env): ScriptRunnerConfig {
  const parsed = parseOrThrow(ScriptRunnerEnv, env, 'environment');
  const config = toConfig(parsed);
  const { STAGEHOOKS_TASK_TOKEN: taskToken, STAGEHOOKS_JOB: job } = parsed;
  // The refinement above guarantees the values each mode needs.
  const runner: ScriptRunnerMode =
    taskToken !== undefined && job !== undefined && parsed.STAGEHOOKS_RUNNER_MODE !== 'pool'
      ? { mode: 'task', taskToken, job }
      : {
          mode: 'pool',
          queueUrl: config.scriptQueueUrl ?? '',
          concurrency: parsed.STAGEHOOKS_SCRIPT_CONCURRENCY,
        };
  return {
    ...config,
    runner,
    stopGraceMs: parsed.STAGEHOOKS_SCRIPT_STOP_GRACE_SECONDS * 1000,
    scriptUser: { uid: parsed.STAGEHOOKS_SCRIPT_UID, gid: parsed.STAGEHOOKS_SCRIPT_GID },
  };
}
