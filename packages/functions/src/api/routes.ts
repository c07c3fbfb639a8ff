import {
  decideReview,
  executionHistory,
  executionsOfJob,
  type HookTestRun,
  JobExecution,
  testHook,
  testRunOf,
} from '@stagehooks/core/admin';
import { type Catalog, CatalogInstall } from '@stagehooks/core/catalog';
import {
  boundedJsonObject,
  CatalogEntryId,
  DATA_LIMIT_BYTES,
  EffectiveHook,
  ExecutionLog,
  ExecutionStatus,
  Hook,
  HookAuditEntry,
  HookCondition,
  HookCreate,
  HookName,
  HookPoint,
  HookReplace,
  HookRunResult,
  hookPointInfo,
  JsonObject,
  jsonBytes,
  Review,
  ReviewDecisionInput,
  ReviewStatus,
  recordOfOwnKeys,
  ScopeId,
  ScopeType,
  STAGE_FLOW_LIMIT_BYTES,
  StageEventDetail,
  StagePatch,
  StageVerdict,
} from '@stagehooks/core/domain';
import { HookNotFoundError, NotFoundError, ValidationError } from '@stagehooks/core/errors';
import { resolveEffectiveHooks } from '@stagehooks/core/inheritance';
import { z } from 'zod';
import { authorize, type Identity } from './auth';
import type { AdminApiDeps } from './deps';
import { authorizeLockedChange, authorizeLockedReview, authorizeLocks } from './locks';
import { HttpProblem } from './problem';
import { defineRoute, type Route, type RouteResult } from './route';

// ------------------------------------------------------------------------------------------- shapes

const Limit = z.coerce
  .number({ error: 'must be a whole number from 1 to 100' })
  .int()
  .min(1)
  .max(100)
  .optional();
const Cursor = z.string().min(1).max(2048).optional();
const PathId = z.string().min(1).max(256);
const TestRunId = z
  .string()
  .regex(
    /^test\.[0-9A-HJKMNP-TV-Z]{26}$/,
    'must be a test run id (test.<ulid>), as POST /hooks/{id}/test gave it',
  );

const PublicReview = Review.omit({ taskToken: true });
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

/** Earlier hooks' data as a test run hands it on: each within a hook's data bound, all within a stage's. */
const TestOutputs = recordOfOwnKeys(HookName, boundedJsonObject(DATA_LIMIT_BYTES)).superRefine(
  (outputs, ctx) => {
    if (jsonBytes(outputs) > STAGE_FLOW_LIMIT_BYTES)
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${STAGE_FLOW_LIMIT_BYTES / 1024} KiB as JSON`,
      });
  },
);

const TestRequest = z
  .strictObject({
    input: StageEventDetail.omit({ hookPoint: true })
      .partial()
      .extend({
        outputs: TestOutputs.optional().describe(
          "earlier hooks' data by hook name, as the hook input's `outputs` (default {})",
        ),
        verdict: StageVerdict.optional().describe(
          "the stage's verdict so far, as the hook input's `verdict` (default passed)",
        ),
      })
      .optional()
      .describe("fields to use instead of the point's sample input"),
  })
  .optional();

const TestCondition = z
  .object({
    when: HookCondition,
    matched: z
      .boolean()
      .nullable()
      .describe('null only when read later from a log whose input was cut at the capture limit'),
  })
  .nullable()
  .describe("whether the input matches the hook's `when` (null without one); the hook runs either way");

const TestResult = HookRunResult.omit({
  message: true,
  data: true,
  patch: true,
  startedAt: true,
  finishedAt: true,
}).extend({
  logId: z.string(),
  input: JsonObject,
  data: JsonObject.nullable().describe('the data the hook returned, as its log keeps it (`outputData`)'),
  patch: StagePatch.nullable().describe('the stage patch a stage would apply: only a passed run has one'),
  condition: TestCondition,
  requestBody: z
    .string()
    .optional()
    .describe(
      "a webhook's request body, byte for byte (its first attempt's): its bodyTemplate rendered, or the input; only in the answer of the run itself",
    ),
});

const TestRunning = z.object({
  status: z.literal('running'),
  logId: z.string().describe('the test run id: GET /hooks/{id}/test-runs/{logId} reads it later'),
  input: JsonObject.optional(),
  condition: TestCondition.optional(),
});

const CatalogDefaults = z.object({
  failureMode: z.enum(['block', 'warn', 'ignore']),
  timeoutSeconds: z.int(),
  mode: z.enum(['inline', 'detached']).optional(),
});
const CatalogItemSchema = z.object({
  id: CatalogEntryId,
  version: z.string(),
  title: z.string(),
  description: z.string(),
  type: z.enum(['webhook', 'shell', 'python']),
  hookPoints: z.array(HookPoint),
  params: JsonObject.describe('JSON Schema 2020-12 of the parameters, with their defaults'),
  defaults: CatalogDefaults,
});
const CatalogDetailSchema = CatalogItemSchema.extend({
  readme: z
    .string()
    .describe("the entry's README (markdown): what it does, parameters, example, what it returns"),
  example: z.object({ hookPoint: HookPoint, params: JsonObject, description: z.string().optional() }),
  outputSchema: JsonObject.nullable().describe(
    "the JSON Schema of the data it returns (its hooks' outputSchema)",
  ),
});

const HookPointItem = z.object({
  hookPoint: HookPoint,
  description: z.string(),
  sampleInput: StageEventDetail,
});

// ------------------------------------------------------------------------------------------- routes

const ok = (body: unknown): RouteResult => ({ status: 200, body });
const publicReview = (review: Review) => {
  const { taskToken: _token, ...rest } = review;
  return rest;
};

/**
 * A webhook's auth secret reaches whatever URL the hook names, so non-admins may only name secrets
 * kept for the hook's own scope: `<scopeType>/<scopeId>/...`.
 */
function authorizeSecretRef(identity: Identity, hook: Hook | HookCreate | HookReplace) {
  if (identity.role === 'admin' || hook.type !== 'webhook') return;
  const secretRef = hook.config.auth?.secretRef;
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

/** A hook as the API answers it: an installed one says whether its catalog entry has a newer version. */
function shown<H extends Hook>(catalog: Catalog, hook: H): H {
  const ref = catalog.refOf(hook);
  return ref ? { ...hook, catalog: ref } : hook;
}

/** Everything a write of `input` needs, whoever sends it: role, secret refs, script rights, locks. */
async function authorizeWrite(identity: Identity, deps: AdminApiDeps, input: HookCreate) {
  authorize(identity, 'write', [input.scopeType]);
  authorizeSecretRef(identity, input);
  authorizeScript(identity, deps, input);
  await authorizeLocks(identity, deps.registry, input);
}

/** A finished test run as the API answers it: 200 with the result; a running one 202, where to look later. */
function testRunAnswer(hookId: string, run: HookTestRun): RouteResult {
  if (run.status === 'running') {
    const { logId, input, condition } = run;
    const location = `/hooks/${hookId}/test-runs/${logId}`;
    return {
      status: 202,
      body: {
        status: 'running',
        logId,
        ...(input && { input }),
        ...(condition !== undefined && { condition }),
      },
      headers: { location },
    };
  }
  const { log, input, condition, requestBody } = run;
  return ok({
    status: log.status,
    exitCode: log.exitCode,
    stdout: log.stdout,
    stderr: log.stderr,
    responseStatus: log.responseStatus,
    responseBody: log.responseBody,
    errorMessage: log.errorMessage,
    durationMs: log.durationMs,
    truncated: log.truncated,
    logId: log.id,
    input,
    data: log.outputData,
    patch: log.patch,
    condition,
    ...(requestBody !== undefined && { requestBody }),
  });
}

export const routes: Route[] = [
  defineRoute({
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
      const { cursor, limit, enabled, ...filter } = query;
      const page = await deps.registry.list(
        { ...filter, enabled: enabled === undefined ? undefined : enabled === 'true' },
        { cursor, limit },
      );
      return ok({ ...page, items: page.items.map((hook) => shown(deps.catalog, hook)) });
    },
  }),
  defineRoute({
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
    handle: async ({ body: input, identity, deps }) => {
      await authorizeWrite(identity, deps, input);
      const { hook, signingSecret } = await deps.registry.create(input, identity.actor);
      return {
        status: 201,
        body: { ...hook, ...(signingSecret && { signingSecret }) },
        headers: { location: `/hooks/${hook.id}` },
      };
    },
  }),
  defineRoute({
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
    handle: async ({ params: { scopeType, scopeId }, query, deps }) => {
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
            : { projectId: query.projectId, sceneTypeId: scopeId };
      const points = query.hookPoint ? [query.hookPoint] : hookPointInfo.map((p) => p.hookPoint);
      const items = [];
      for (const hookPoint of points)
        items.push(...(await resolveEffectiveHooks(deps.registry, { ...request, hookPoint })));
      return ok({ items: items.map((item) => ({ ...item, hook: shown(deps.catalog, item.hook) })) });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/hooks/{id}',
    summary: 'Read a hook',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    responses: { 200: { description: 'the hook', schema: Hook } },
    handle: async ({ params, deps }) => ok(shown(deps.catalog, await existingHook(deps, params.id))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/hooks/{id}',
    summary: 'Replace a hook; needs the revision you read (409 with the current one when stale)',
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: HookReplace,
    responses: { 200: { description: 'the hook at its new revision', schema: HookWithSecret } },
    handle: async ({ params, body: input, identity, deps }) => {
      const current = await existingHook(deps, params.id);
      authorize(identity, 'write', [current.scopeType, input.scopeType]);
      authorizeSecretRef(identity, input);
      authorizeScript(identity, deps, input);
      await authorizeLocks(identity, deps.registry, input, current);
      const { hook, signingSecret } = await deps.registry.replace(current.id, input, identity.actor);
      return ok({ ...shown(deps.catalog, hook), ...(signingSecret && { signingSecret }) });
    },
  }),
  defineRoute({
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
      const current = await existingHook(deps, params.id);
      authorize(identity, 'write', [current.scopeType]);
      authorizeLockedChange(identity, current);
      // At the revision that was authorized: a hook moved to another scope meanwhile is a conflict.
      await deps.registry.delete(current.id, identity.actor, query.revision ?? current.revision);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/hooks/{id}/test',
    summary:
      "Run a hook once with its point's sample input (or the given one); logged with test: true, no pipeline effect; says whether the input matches the hook's `when` (it runs either way)",
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: TestRequest,
    responses: {
      200: { description: 'the full result of the run', schema: TestResult },
      202: {
        description:
          'a script still running when the API must answer (about 25 s): read its result later at `Location`',
        schema: TestRunning,
      },
    },
    handle: async ({ params, body, identity, deps, waitBudgetMs }) => {
      const hook = await existingHook(deps, params.id);
      authorize(identity, 'write', [hook.scopeType]);
      authorizeSecretRef(identity, hook);
      authorizeScript(identity, deps, hook);
      const run = await testHook(deps, hook, body?.input ?? {}, { waitMs: waitBudgetMs() });
      return testRunAnswer(hook.id, run);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/hooks/{id}/test-runs/{runId}',
    summary:
      'A test run of a hook, by the id its POST /hooks/{id}/test gave: its result, or 202 while it runs',
    access: 'read',
    params: z.strictObject({ id: PathId, runId: TestRunId }),
    responses: {
      200: {
        description: 'the full result of the run',
        schema: TestResult.extend({
          input: z.unknown().describe('the input as logged (a string when it was cut at the capture limit)'),
        }),
      },
      202: { description: 'the run has not ended yet: ask again', schema: TestRunning },
    },
    handle: async ({ params, deps }) => {
      const hook = await existingHook(deps, params.id);
      const run = await testRunOf(deps, hook, params.runId);
      if (!run) throw new NotFoundError('test run', params.runId);
      return testRunAnswer(hook.id, run);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/hooks/{id}/logs',
    summary: "A hook's execution logs, newest first",
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ status: ExecutionStatus.optional(), cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of execution logs', schema: pageOf(ExecutionLog) } },
    handle: async ({ params, query, deps }) => ok(await deps.logs.listByHook(params.id, query)),
  }),
  defineRoute({
    method: 'GET',
    path: '/hooks/{id}/audit',
    summary: "A hook's audit trail: who changed what, when, before and after; newest first",
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of audit entries', schema: pageOf(HookAuditEntry) } },
    handle: async ({ params, query, deps }) => {
      const page = await deps.registry.auditTrail(params.id, query);
      if (page.items.length === 0 && !query.cursor) throw new HookNotFoundError(params.id);
      return ok(page);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/jobs/{id}/hook-logs',
    summary: 'Every hook execution of a job, in start order',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    query: z.strictObject({ status: ExecutionStatus.optional(), cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of execution logs', schema: pageOf(ExecutionLog) } },
    handle: async ({ params, query, deps }) => ok(await deps.logs.listByJob(params.id, query)),
  }),
  defineRoute({
    method: 'GET',
    path: '/jobs/{id}/executions',
    summary: 'The state-machine runs of a job, one per stage event',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    responses: {
      200: { description: 'executions, oldest first', schema: z.object({ items: z.array(JobExecution) }) },
    },
    handle: async ({ params, deps }) => ok({ items: await executionsOfJob(deps, params.id) }),
  }),
  defineRoute({
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
    handle: async ({ params, query, deps }) =>
      ok(
        await executionHistory(deps, params.id, {
          cursor: query.cursor,
          limit: query.limit ?? 100,
          reverse: query.reverse === 'true',
        }),
      ),
  }),
  defineRoute({
    method: 'GET',
    path: '/reviews',
    summary: 'Reviews by status (default open): the blocked stages waiting for a decision',
    access: 'read',
    query: z.strictObject({ status: ReviewStatus.optional(), cursor: Cursor, limit: Limit }),
    responses: { 200: { description: 'a page of reviews, oldest first', schema: pageOf(PublicReview) } },
    handle: async ({ query, deps }) => {
      const page = await deps.reviews.listByStatus(query.status ?? 'open', query);
      return ok({ ...page, items: page.items.map(publicReview) });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/reviews/{id}/decision',
    summary: "Approve (the stage's remaining hooks run) or reject (the stage ends blocked) a review",
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: ReviewDecisionInput,
    responses: { 200: { description: 'the decided review', schema: PublicReview } },
    handle: async ({ params, body, identity, deps }) => {
      const request = {
        reviewId: params.id,
        decision: body.decision,
        by: identity.actor,
        comment: body.comment ?? null,
      };
      const review = await decideReview(deps, request, (open, gate) => {
        // A studio gate is the studio's, and a locked one the admins': only an admin may wave it through.
        authorize(identity, 'write', [open.scopeType]);
        authorizeLockedReview(identity, gate);
      });
      return ok(publicReview(review));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/catalog',
    summary: 'The catalog of ready-made hooks: each entry with its parameters (a JSON Schema) and defaults',
    access: 'read',
    responses: {
      200: { description: 'the entries, by id', schema: z.object({ items: z.array(CatalogItemSchema) }) },
    },
    handle: async ({ deps }) => ok({ items: deps.catalog.list() }),
  }),
  defineRoute({
    method: 'GET',
    path: '/catalog/{id}',
    summary: 'A catalog entry with its README and its example install',
    access: 'read',
    params: z.strictObject({ id: PathId }),
    responses: { 200: { description: 'the entry', schema: CatalogDetailSchema } },
    handle: async ({ params, deps }) => ok(deps.catalog.get(params.id)),
  }),
  defineRoute({
    method: 'POST',
    path: '/catalog/{id}/install',
    summary:
      "Install a catalog entry as a hook at a scope: its parameters checked against the entry's schema (400 naming params.<name>); the role that creating that hook needs",
    access: 'write',
    params: z.strictObject({ id: PathId }),
    body: CatalogInstall,
    responses: {
      201: {
        description:
          'the hook, with `catalog: { id, version }`; a webhook also gets its signing secret, this once',
        schema: HookWithSecret,
      },
    },
    handle: async ({ params, body, identity, deps }) => {
      const { create, catalog } = deps.catalog.install(params.id, body);
      await authorizeWrite(identity, deps, create);
      const { hook, signingSecret } = await deps.registry.create(create, identity.actor, { catalog });
      return {
        status: 201,
        body: { ...shown(deps.catalog, hook), ...(signingSecret && { signingSecret }) },
        headers: { location: `/hooks/${hook.id}` },
      };
    },
  }),
  defineRoute({
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
  }),
];
