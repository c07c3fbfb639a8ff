import { z } from 'zod';
import type { Route } from './route';

const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const json = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;

/** `$schema` is noise inside an OpenAPI document. */
function clean(schema: Record<string, unknown>) {
  const { $schema: _schema, ...rest } = schema;
  return rest;
}

/** Every status a route can answer with a problem, by what it declares. */
function problemStatuses(route: Route): number[] {
  const statuses = new Set([401, 500, 503]);
  if (route.access === 'write') statuses.add(403);
  if (route.params || route.query || route.body) statuses.add(400);
  if (route.body) {
    statuses.add(413);
    statuses.add(415);
  }
  if (route.params?.shape.id) statuses.add(404);
  if (route.method === 'PUT' || route.method === 'POST' || route.method === 'DELETE') statuses.add(409);
  if (route.access === 'public') statuses.delete(401);
  return [...statuses].sort();
}

/** The OpenAPI 3.1 document, generated from the same route table and zod schemas the handler runs. */
export function openApiDocument(routes: Route[], options: { serverUrl: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters = [
      ...Object.entries(route.params?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'path',
        required: true,
        schema: clean(json(schema as z.ZodType, 'input')),
      })),
      ...Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !(schema as z.ZodType).safeParse(undefined).success,
        schema: clean(json(schema as z.ZodType, 'input')),
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = response.schema
        ? {
            description: response.description,
            content: { 'application/json': { schema: clean(json(response.schema, 'output')) } },
          }
        : { description: response.description };
    }
    for (const status of problemStatuses(route)) {
      responses[String(status)] = {
        description: 'a problem (RFC 9457)',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(route.access === 'public' ? { security: [] } : {}),
      ...(parameters.length > 0 && { parameters }),
      ...(route.body && {
        requestBody: {
          required: !route.body.safeParse(undefined).success,
          content: { 'application/json': { schema: clean(json(route.body, 'input')) } },
        },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'stagehooks admin API',
      version: options.version,
      description:
        'Manage pipeline hooks, run them on demand, read their logs and decide reviews. Roles: admin, editor (project and scene_type scopes), viewer (read only).',
    },
    servers: [{ url: options.serverUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (on AWS) or the local admin token' },
      },
      schemas: { Problem: clean(json(Problem, 'output')) },
    },
  };
}
