import {
  EffectiveHook,
  ExecutionLog,
  ExecutionStatus,
  Hook,
  HookAuditEntry,
  HookCreate,
  HookPoint,
  HookReplace,
  HookRunResult,
  hookPointInfo,
  JsonObject,
  Review,
  ReviewDecisionInput,
  ReviewStatus,
  ScopeId,
  ScopeType,
  StageEventDetail,
  StageVerdict,
} from '@stagehooks/core/domain';
import { RunState, redactTaskTokens, runHookTest } from '@stagehooks/core/engine';
import { HookNotFoundError, NotFoundError, ValidationError } from '@stagehooks/core/errors';
import { resolveEffectiveHooks } from '@stagehooks/core/inheritance';
import type {
  EventClaims,
  ExecutionLogStore,
  HookRegistry,
  ReviewStore,
  ScriptRunner,
  WebhookSender,
} from '@stagehooks/core/ports';
import { z } from 'zod';
import type { StepFunctionsExecutions, StepFunctionsTaskReporter } from '../aws';
import { type Access, authorize, type Identity } from './auth';
import { authorizeLockedChange, authorizeLockedReview, authorizeLocks } from './locks';
import { HttpProblem } from './problem';

export interface AdminApiDeps {
  registry: HookRegistry;
  logs: ExecutionLogStore;
  reviews: ReviewStore;
  claims: Pick<EventClaims, 'executionsOf'>;
  executions: Pick<StepFunctionsExecutions, 'describe' | 'history'>;
  tasks: Pick<StepFunctionsTaskReporter, 'succeed'>;
  webhooks: WebhookSender;
  scripts: ScriptRunner;
  stateMachineArn: string;
  /** False when scripts run as plain subprocesses (no sandbox): then only admins may define or run them. */
  scriptsSandboxed: boolean;
}

// ------------------------------------------------------------------------------------------- shapes

const Limit = z.coerce
  .number({ error: 'must be a whole number from 1 to 100' })
  .int()
  .min(1)
  .max(100)
  .optional();
const Cursor = z.string().min(1).max(2048).optional();
const PathId = z.string().min(1).max(256);

export const PublicReview = Review.omit({ taskToken: true });
const HookWithSecret = z.intersection(
  Hook,
  z.object({
    signingSecret: z
      .string()
      .optional()
      .describe('the webhook signing secret: returned once, when it is created'),
  }),
);
const pageOf = <S extends z.ZodType>(item: S) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().optional().describe('pass as `cursor` for the next page'),
  });

const TestRequest = z
  .strictObject({
    input: StageEventDetail.omit({ hookPoint: true })
      .partial()
      .optional()
      .describe("fields to use instead of the point's sample input"),
  })
  .optional();

const TestResult = HookRunResult.omit({
  message: true,
  data: true,
  startedAt: true,
  finishedAt: true,
}).extend({
  logId: z.string(),
  input: JsonObject,
});

const JobExecution = z.object({
  executionId: z.string(),
  hookPoint: HookPoint,
  status: z.string().describe('RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or UNKNOWN'),
  verdict: StageVerdict.nullable().describe('null while the stage runs or when it ended without one'),
  startedAt: z.string().nullable(),
  stoppedAt: z.string().nullable(),
});

const HookPointItem = z.object({
  hookPoint: HookPoint,
  description: z.string(),
  sampleInput: StageEventDetail,
});

// ------------------------------------------------------------------------------------------- routes

export interface RouteContext {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  identity: Identity;
  deps: AdminApiDeps;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  access: Access | 'public';
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status code to response schema (undefined: no body). Problems are added for every route. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handle(context: RouteContext): Promise<RouteResult>;
}

const ok = (body: unknown): RouteResult => ({ status: 200, body });
const publicReview = (review: Review) => {
  const { taskToken: _token, ...rest } = review;
  return rest;
};

/**
 * A webhook's auth secret reaches whatever URL the hook names, so non-admins may only name secrets
 * kept for the hook's own scope: `<scopeType>/<scopeId>/...`.
 */
function authorizeSecretRef(
  identity: Identity,
  hook: { type: string; scopeType: string; scopeId: string | null; config: unknown },
) {
  if (identity.role === 'admin' || hook.type !== 'webhook') return;
  const secretRef = (hook.config as { auth?: { secretRef?: string } }).auth?.secretRef;
  const prefix = `${hook.scopeType}/${hook.scopeId}/`;
  if (secretRef !== undefined && !secretRef.startsWith(prefix)) {
    throw new HttpProblem(403, `${identity.actor} may only use secrets under "${prefix}" for this hook`);
  }
}

/** Without a sandbox a script runs with the service's own rights: that is an admin's call. */
function authorizeScript(identity: Identity, deps: AdminApiDeps, hook: { type: string }) {
  if (hook.type === 'webhook' || deps.scriptsSandboxed || identity.role === 'admin') return;
  throw new HttpProblem(
    403,
    `${identity.actor} may not define or run script hooks while scripts run unsandboxed`,
  );
}

async function existingHook(deps: AdminApiDeps, id: string) {
  const hook = await deps.registry.get(id);
  if (!hook) throw new HookNotFoundError(id);
  return hook;
}

/** An execution of this state machine, named by its ARN (URL-encoded) or by its name. */
function executionArnOf(stateMachineArn: string, id: string): string | undefined {
  const prefix = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:`;
  if (!id.startsWith('arn:')) return /^[A-Za-z0-9_-]{1,80}$/.test(id) ? `${prefix}${id}` : undefined;
  return id.startsWith(prefix) ? id : undefined;
}

export const routes: Route[] = [
  {
    method: 'GET',
    path: '/hooks',
    summary: 'List hooks, filtered and paginated',
    access: 'read',
    query: z.strictObject({
      scopeType: ScopeType.optional(),
      scopeId: ScopeId.optional(),
      hookPoint: HookPoint.optional(),
      enabled: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
      cursor: Cursor,
      limit: Limit,
    }),
    responses: { 200: { description: 'a page of hooks', schema: pageOf(Hook) } },
    handle: async ({ query, deps }) => {
      const { cursor, limit, enabled, ...filter } = query as {
        cursor?: string;
        limit?: number;
        enabled?: 'true' | 'false';
        scopeType?: ScopeType;
        scopeId?: string;
        hookPoint?: HookPoint;
      };
      return ok(
        await deps.registry.list(
          { ...filter, enabled: enabled === undefined ? undefined : enabled === 'true' },
          { cursor, limit },
        ),
      );
    },
  },
  {
    method: 'POST',
    path: '/hooks',
    summary: 'Create a hook',
    access: 'write',
    body: HookCreate,
    responses: {
      201: {
        description: 'the hook; a webhook also gets its signing secret, this once',
        schema: HookWithSecret,
      },
    },
    handle: async ({ body, identity, deps }) => {
      const input = body as HookCreate;
      authorize(identity, 'write', [input.scopeType]);
      authorizeSecretRef(identity, input);
      authorizeScript(identity, deps, input);
      await authorizeLocks(identity, deps.registry, input);
      const { hook, signingSecret } = await deps.registry.create(input, identity.actor);
      return {
        status: 201,
        body: { ...hook, ...(signingSecret && { signingSecret }) },
        headers: { location: `/hooks/${hook.id}` },
      };
    },
  },
  {
    method: 'GET',
    path: '/hooks/effective/{scopeType}/{scopeId}',
    summary: 'The effective hooks at a scope (studio: use "-" as scopeId), with where each comes from',
    access: 'read',
    params: z.strictObject({ scopeType: ScopeType, scopeId: z.string().min(1).max(128) }),
    query: z.strictObject({
      hookPoint: HookPoint.optional(),
      projectId: ScopeId.optional().describe(
        'for a scene type: the project whose hooks sit between studio and scene type',
      ),
    }),
    responses: {
      200: {
        description: 'effective hooks, in run order per point',
        schema: z.object({ items: z.array(EffectiveHook) }),
      },
    },
    handle: async ({ params, query, deps }) => {
      const scopeType = params.scopeType as ScopeType;
      const scopeId = params.scopeId as string;
      if (scopeType !== 'studio' && !ScopeId.safeParse(scopeId).success) {
        throw new ValidationError('path', [
          { path: 'scopeId', message: 'must be 1-128 letters, digits, "_", ".", ":" or "-"' },
        ]);
      }
      const request =
        scopeType === 'studio'
          ? {}
          : scopeType === 'project'
            ? { projectId: scopeId }
            : { projectId: query.projectId as string | undefined, sceneTypeId: scopeId };
      const points = query.hookPoint ? [query.hookPoint as HookPoint] : hookPointInfo.map((p) => p.hookPoint);
      const items = [];
      for (const hookPoint of points)
        items.push(...(await resolveEffectiveHooks(deps.registry, { ...request, hookPoint })));
      return ok({ items });
    },
  },
  {
    method: 'GET',
    path: '/hooks/{id}',
    summary: 'Read a hook',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    responses: { 200: { description: 'the hook', schema: Hook } },
    handle: async ({ params, deps }) => ok(await existingHook(deps, params.id as string)),
  },
  {
    method: 'PUT',
    path: '/hooks/{id}',
    summary: 'Replace a hook; needs the revision you read (409 with the current one when stale)',
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: HookReplace,
    responses: { 200: { description: 'the hook at its new revision', schema: HookWithSecret } },
    handle: async ({ params, body, identity, deps }) => {
      const input = body as HookReplace;
      const current = await existingHook(deps, params.id as string);
      authorize(identity, 'write', [current.scopeType, input.scopeType]);
      authorizeSecretRef(identity, input);
      authorizeScript(identity, deps, input);
      await authorizeLocks(identity, deps.registry, input, current);
      const { hook, signingSecret } = await deps.registry.replace(current.id, input, identity.actor);
      return ok({ ...hook, ...(signingSecret && { signingSecret }) });
    },
  },
  {
    method: 'DELETE',
    path: '/hooks/{id}',
    summary: 'Delete a hook (optionally only at a given revision)',
    access: 'write',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({
      revision: z.coerce.number({ error: 'must be a whole number' }).int().min(1).optional(),
    }),
    responses: { 204: { description: 'deleted' } },
    handle: async ({ params, query, identity, deps }) => {
      const current = await existingHook(deps, params.id as string);
      authorize(identity, 'write', [current.scopeType]);
      authorizeLockedChange(identity, current);
      // At the revision that was authorized: a hook moved to another scope meanwhile is a conflict.
      await deps.registry.delete(
        current.id,
        identity.actor,
        (query.revision as number | undefined) ?? current.revision,
      );
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: '/hooks/{id}/test',
    summary:
      "Run a hook once with its point's sample input (or the given one); logged with test: true, no pipeline effect",
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: TestRequest,
    responses: { 200: { description: 'the full result of the run', schema: TestResult } },
    handle: async ({ params, body, identity, deps }) => {
      const hook = await existingHook(deps, params.id as string);
      authorize(identity, 'write', [hook.scopeType]);
      authorizeSecretRef(identity, hook);
      authorizeScript(identity, deps, hook);
      const given = (body as z.output<typeof TestRequest>)?.input ?? {};
      const { log, result, input } = await runHookTest(deps, hook, given);
      return ok({
        status: result.status,
        exitCode: result.exitCode,
        stdout: log.stdout,
        stderr: log.stderr,
        responseStatus: result.responseStatus,
        responseBody: log.responseBody,
        errorMessage: log.errorMessage,
        durationMs: result.durationMs,
        truncated: log.truncated,
        logId: log.id,
        input,
      });
    },
  },
  {
    method: 'GET',
    path: '/hooks/{id}/logs',
    summary: "A hook's execution logs, newest first",
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ status: ExecutionStatus.optional(), cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of execution logs', schema: pageOf(ExecutionLog) } },
    handle: async ({ params, query, deps }) => ok(await deps.logs.listByHook(params.id as string, query)),
  },
  {
    method: 'GET',
    path: '/hooks/{id}/audit',
    summary: "A hook's audit trail: who changed what, when, before and after; newest first",
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of audit entries', schema: pageOf(HookAuditEntry) } },
    handle: async ({ params, query, deps }) => {
      const page = await deps.registry.auditTrail(params.id as string, query);
      if (page.items.length === 0 && !query.cursor) throw new HookNotFoundError(params.id as string);
      return ok(page);
    },
  },
  {
    method: 'GET',
    path: '/jobs/{id}/hook-logs',
    summary: 'Every hook execution of a job, in start order',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ status: ExecutionStatus.optional(), cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of execution logs', schema: pageOf(ExecutionLog) } },
    handle: async ({ params, query, deps }) => ok(await deps.logs.listByJob(params.id as string, query)),
  },
  {
    method: 'GET',
    path: '/jobs/{id}/executions',
    summary: 'The state-machine runs of a job, one per stage event',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    responses: {
      200: { description: 'executions, oldest first', schema: z.object({ items: z.array(JobExecution) }) },
    },
    handle: async ({ params, deps }) => {
      const claims = await deps.claims.executionsOf(params.id as string);
      const items = await Promise.all(
        claims.map(async (claim) => {
          const execution = await deps.executions.describe(claim.executionId);
          const output = execution?.output ? (JSON.parse(execution.output) as { run?: unknown }) : undefined;
          const run = RunState.safeParse(output?.run);
          return {
            executionId: claim.executionId,
            hookPoint: claim.hookPoint,
            status: execution?.status ?? 'UNKNOWN',
            verdict: execution?.status === 'SUCCEEDED' && run.success ? run.data.verdict : null,
            startedAt: execution?.startDate?.toISOString() ?? claim.claimedAt,
            stoppedAt: execution?.stopDate?.toISOString() ?? null,
          };
        }),
      );
      return ok({ items });
    },
  },
  {
    method: 'GET',
    path: '/executions/{id}/history',
    summary: 'The event history of a state-machine run (id: its ARN, URL-encoded, or its name)',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ cursor: Cursor, limit: Limit, reverse: z.enum(['true', 'false']).optional() }),
    responses: {
      200: {
        description: 'history events in Step Functions form',
        schema: pageOf(z.record(z.string(), z.unknown())),
      },
    },
    handle: async ({ params, query, deps }) => {
      const executionArn = executionArnOf(deps.stateMachineArn, params.id as string);
      if (!executionArn) throw new NotFoundError('execution', params.id as string);
      const page = await deps.executions.history(executionArn, {
        cursor: query.cursor as string | undefined,
        limit: (query.limit as number | undefined) ?? 100,
        reverse: query.reverse === 'true',
      });
      if (!page) throw new NotFoundError('execution', params.id as string);
      return ok({
        items: redactTaskTokens(page.events),
        ...(page.nextCursor && { nextCursor: page.nextCursor }),
      });
    },
  },
  {
    method: 'GET',
    path: '/reviews',
    summary: 'Reviews by status (default open): the blocked stages waiting for a decision',
    access: 'read',
    query: z.strictObject({ status: ReviewStatus.optional(), cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of reviews, oldest first', schema: pageOf(PublicReview) } },
    handle: async ({ query, deps }) => {
      const page = await deps.reviews.listByStatus(
        (query.status as ReviewStatus | undefined) ?? 'open',
        query,
      );
      return ok({ ...page, items: page.items.map(publicReview) });
    },
  },
  {
    method: 'POST',
    path: '/reviews/{id}/decision',
    summary: "Approve (the stage's remaining hooks run) or reject (the stage ends blocked) a review",
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: ReviewDecisionInput,
    responses: { 200: { description: 'the decided review', schema: PublicReview } },
    handle: async ({ params, body, identity, deps }) => {
      const { decision, comment } = body as ReviewDecisionInput;
      const open = await deps.reviews.get(params.id as string);
      if (!open) throw new NotFoundError('review', params.id as string);
      // A studio gate is the studio's, and a locked one the admins': only an admin may wave it through.
      authorize(identity, 'write', [open.scopeType]);
      authorizeLockedReview(identity, await deps.registry.get(open.hookId));
      const review = await deps.reviews.decide(open.id, decision, identity.actor, comment ?? null);
      // Without a token yet, the waiting state picks the decision up when it stores its token.
      if (review.taskToken) {
        const output = { decision, by: identity.actor, comment: comment ?? null };
        if ((await deps.tasks.succeed(review.taskToken, output)) === 'closed') {
          throw new HttpProblem(
            409,
            'the decision is recorded, but the stage no longer waits for it (it timed out or was stopped)',
          );
        }
      }
      return ok(publicReview(review));
    },
  },
  {
    method: 'GET',
    path: '/hook-points',
    summary: 'The five hook points, each with a realistic sample input',
    access: 'read',
    responses: {
      200: {
        description: 'the hook points in pipeline order',
        schema: z.object({ items: z.array(HookPointItem) }),
      },
    },
    handle: async () => ok({ items: hookPointInfo }),
  },
];
