import middy, { type MiddlewareObj } from '@middy/core';
import { jsonTooDeepAt, MAX_JSON_DEPTH, tooDeepMessage } from '@stagehooks/core/domain';
import { ValidationError } from '@stagehooks/core/errors';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { authorize, identityOf } from './auth';
import type { AdminApiDeps } from './deps';
import { openApiDocument } from './openapi';
import { HttpProblem, toProblem } from './problem';
import { defineRoute, type Route } from './route';
import { routes } from './routes';

/** Larger bodies get 413; a hook (64 KiB of inline script at most) fits with room to spare. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface AdminApiOptions {
  /** The claim holding the caller's groups (Cognito: `cognito:groups`). */
  groupsClaim?: string;
  /** Where the API is served, for the OpenAPI document. */
  serverUrl?: string;
  version?: string;
  /** Server-side log of failures (never sent to clients). */
  logError?: (error: unknown) => void;
  /**
   * How long a request may wait for slow work (a script's test run) before it answers that the work
   * goes on; default 25 s, as API Gateway ends an integration at 30 s. Never past the Lambda's own time.
   */
  maxWaitMs?: number;
}

const DEFAULT_MAX_WAIT_MS = 25_000;
/** Left of the Lambda's time once the waiting is over: enough to answer before it is cut off. */
const ANSWER_RESERVE_MS = 1_000;

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
  literals: number;
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const segments = route.path.split('/').filter(Boolean);
  const source = segments
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param?.[1]) {
        names.push(param[1]);
        return '/([^/]+)';
      }
      return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    })
    .join('');
  return { route, pattern: new RegExp(`^${source}/?$`), names, literals: segments.length - names.length };
}

type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

const jsonResult = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResult => ({
  statusCode: status,
  headers: { 'content-type': 'application/json', ...headers },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

/** Problems become application/problem+json; 5xx details stay in the service log. */
function problemResponses(
  logError: (error: unknown) => void,
): MiddlewareObj<APIGatewayProxyEventV2, ApiResult, Error, Context> {
  return {
    onError: (request) => {
      const problem = toProblem(request.error);
      if (problem.status >= 500) logError(request.error);
      const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
      if (request.error instanceof HttpProblem && typeof request.error.extra.allow === 'string')
        headers.allow = request.error.extra.allow;
      request.response = { statusCode: problem.status, headers, body: JSON.stringify(problem) };
    },
  };
}

function bodyText(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined || event.body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** The body limit applies before anything is parsed. */
const bodyLimit: MiddlewareObj<APIGatewayProxyEventV2, ApiResult, Error, Context> = {
  before: (request) => {
    const text = bodyText(request.event);
    if (text !== undefined && Buffer.byteLength(text) > MAX_BODY_BYTES) {
      throw new HttpProblem(
        413,
        `the body is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_BODY_BYTES}`,
      );
    }
  },
};

function parseBody(route: Route, event: APIGatewayProxyEventV2): unknown {
  const text = bodyText(event);
  if (!route.body || text === undefined || text === '') return undefined;
  const contentType = (event.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (!contentType) throw new HttpProblem(415, 'send the body as application/json, with that content-type');
  if (contentType !== 'application/json') {
    throw new HttpProblem(415, `send the body as application/json, not ${contentType}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError('request', [
      { path: '', message: `the body is not valid JSON: ${(error as Error).message}` },
    ]);
  }
  // Free-form fields check their own depth; this stops any deeper body before code that recurses
  // (a copy, a serializer) meets it. Room for a field two levels down (input.metadata) at the bound.
  const tooDeep = jsonTooDeepAt(body, MAX_JSON_DEPTH + 2);
  if (tooDeep !== null) {
    throw new ValidationError('request', [
      { path: tooDeep.slice(0, 2).join('.'), message: tooDeepMessage() },
    ]);
  }
  return body;
}

/**
 * The stores name the page and filter fields they refuse as they were given (`cursor`, `scopeId`): on a
 * route without a body those are its query parameters, named so (`query.cursor`).
 */
function asQueryIssues(route: Route, error: unknown): unknown {
  if (!(error instanceof ValidationError) || !route.query || route.body) return error;
  const names = new Set(Object.keys(route.query.shape));
  const issues = error.issues.map((issue) =>
    names.has(issue.path.split('.')[0] ?? '') ? { ...issue, path: `query.${issue.path}` } : issue,
  );
  return new ValidationError(error.subject, issues, { cause: error });
}

/**
 * The admin API as one Lambda handler (API Gateway HTTP API, payload 2.0): a route table with zod
 * schemas for path, query and body, the role check, and RFC 9457 problems for every failure.
 */
export function createAdminApi(deps: AdminApiDeps, options: AdminApiOptions = {}) {
  const groupsClaim = options.groupsClaim ?? 'cognito:groups';
  const logError = options.logError ?? ((error) => console.error('admin api:', error));
  const document = openApiDocument(routes, {
    serverUrl: options.serverUrl ?? '/',
    version: options.version ?? '0.1.0',
  });
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const openApiRoute = defineRoute({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from its zod schemas',
    access: 'public',
    responses: { 200: { description: 'the OpenAPI document' } },
    handle: async () => ({ status: 200, body: document }),
  });
  const table = [...routes, openApiRoute].map(compile).sort((a, b) => b.literals - a.literals);

  const handle = async (event: APIGatewayProxyEventV2, context: Context): Promise<ApiResult> => {
    const path = event.rawPath || '/';
    const method = event.requestContext.http.method.toUpperCase();
    const onPath = table.filter((c) => c.pattern.test(path));
    if (onPath.length === 0) throw new HttpProblem(404, `no route ${path}`);
    const match = onPath.find((c) => c.route.method === method);
    if (!match) {
      const allow = [...new Set(onPath.map((c) => c.route.method))].join(', ');
      throw new HttpProblem(405, `${method} is not allowed on ${path}; use ${allow}`, { allow });
    }
    const { route } = match;
    const identity =
      route.access === 'public'
        ? { actor: 'anonymous', role: 'viewer' as const }
        : identityOf(event, groupsClaim);
    if (route.access !== 'public') authorize(identity, route.access);

    const values = match.pattern.exec(path)?.slice(1) ?? [];
    const rawParams = Object.fromEntries(
      match.names.map((name, i) => {
        try {
          return [name, decodeURIComponent(values[i] ?? '')];
        } catch {
          throw new ValidationError('request', [
            { path: `path.${name}`, message: 'is not valid URL encoding' },
          ]);
        }
      }),
    );
    const rawQuery = event.queryStringParameters ?? {};
    if (!route.query && Object.keys(rawQuery).length > 0) {
      throw new ValidationError(
        'request',
        Object.keys(rawQuery).map((name) => ({ path: `query.${name}`, message: 'is not a known parameter' })),
      );
    }
    const request = { params: rawParams, query: rawQuery, body: parseBody(route, event) };
    const waitBudgetMs = () =>
      Math.max(0, Math.min(maxWaitMs, context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS));
    const result = await route.handle(request, { identity, deps, waitBudgetMs }).catch((error: unknown) => {
      throw asQueryIssues(route, error);
    });
    return jsonResult(result.status, result.body, result.headers);
  };

  return middy<APIGatewayProxyEventV2, ApiResult, Error, Context>(handle)
    .use(bodyLimit)
    .use(problemResponses(logError));
}

export type AdminApiHandler = ReturnType<typeof createAdminApi>;
export { routes };
