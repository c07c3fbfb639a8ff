import { safeParseFields } from '@stagehooks/core/domain';
import { type FieldIssue, ValidationError } from '@stagehooks/core/errors';
import type { z } from 'zod';
import type { Access, Identity } from './auth';
import type { AdminApiDeps } from './deps';

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request's parts as the handler takes them off HTTP: path parameters decoded, the body's JSON parsed. */
export interface RawRequest {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  /** Undefined when the request has no body (or the route takes none). */
  body: unknown;
}

/** What every route gets besides its request. */
export interface RouteEnvironment {
  identity: Identity;
  deps: AdminApiDeps;
  /** How long the route may still wait for slow work (a script's test run) and answer in time. */
  waitBudgetMs(): number;
}

/** A part of the request as its schema outputs it, or `Absent` when the route declares no schema for it. */
type Parsed<S, Absent> = S extends z.ZodType ? z.output<S> : Absent;
type NoFields = Record<string, never>;

/** The request as a route's handler sees it: typed by the route's own schemas. */
export interface RouteRequest<P, Q, B> {
  params: Parsed<P, NoFields>;
  query: Parsed<Q, NoFields>;
  body: Parsed<B, undefined>;
}

interface RouteShape {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  access: Access | 'public';
  params?: z.ZodObject | undefined;
  query?: z.ZodObject | undefined;
  body?: z.ZodType | undefined;
  /** Status code to response schema (undefined: no body). Problems are added for every route. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

type Schemas = Pick<RouteShape, 'params' | 'query' | 'body'>;

/** A route as it is written: its handler's request is typed by the schemas beside it. */
export interface RouteDefinition<
  P extends Schemas['params'],
  Q extends Schemas['query'],
  B extends Schemas['body'],
> extends Omit<RouteShape, keyof Schemas> {
  params?: P;
  query?: Q;
  body?: B;
  handle(context: RouteRequest<P, Q, B> & RouteEnvironment): Promise<RouteResult>;
}

/** A route as the handler dispatches it and the OpenAPI document describes it. */
export interface Route extends RouteShape {
  /** Validates the request against the route's schemas (one 400 naming every bad field), then runs it. */
  handle(request: RawRequest, environment: RouteEnvironment): Promise<RouteResult>;
}

/**
 * One part of the request through its schema, its issues named under `prefix`; `absent` when the route
 * has no schema for it (or the part is invalid: the caller throws then). The route table's one cast:
 * TypeScript does not narrow `Parsed<S>` when `schema` is tested, and the value is what `schema` output.
 */
function parsePart<S extends z.ZodType | undefined, Absent>(
  schema: S | undefined,
  value: unknown,
  absent: Absent,
  prefix: string,
  issues: FieldIssue[],
): Parsed<S, Absent> {
  if (schema === undefined) return absent as Parsed<S, Absent>;
  const result = safeParseFields(schema, value);
  if (!result.success) {
    issues.push(
      ...result.issues.map((i) => ({ path: [prefix, i.path].filter(Boolean).join('.'), message: i.message })),
    );
  }
  return (result.success ? result.data : absent) as Parsed<S, Absent>;
}

function parseRequest<P extends Schemas['params'], Q extends Schemas['query'], B extends Schemas['body']>(
  definition: RouteDefinition<P, Q, B>,
  request: RawRequest,
): RouteRequest<P, Q, B> {
  const issues: FieldIssue[] = [];
  const none: NoFields = {};
  const params = parsePart(definition.params, request.params, none, 'path', issues);
  const query = parsePart(definition.query, request.query, none, 'query', issues);
  const { body: schema } = definition;
  if (schema !== undefined && request.body === undefined && !schema.safeParse(undefined).success) {
    throw new ValidationError('request', [...issues, { path: '', message: 'the body is required' }]);
  }
  const body = parsePart(schema, request.body, undefined, '', issues);
  if (issues.length > 0) throw new ValidationError('request', issues);
  return { params, query, body };
}

/** A route for the table: its handler gets the request as its schemas output it, or the caller a 400. */
export function defineRoute<
  P extends Schemas['params'] = undefined,
  Q extends Schemas['query'] = undefined,
  B extends Schemas['body'] = undefined,
>(definition: RouteDefinition<P, Q, B>): Route {
  const { handle, ...shape } = definition;
  return {
    ...shape,
    handle: async (request, environment) => handle({ ...parseRequest(definition, request), ...environment }),
  };
}
