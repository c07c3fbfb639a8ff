import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AdminApiHandler } from '@stagehooks/functions/api';
import { MAX_BODY_BYTES } from '@stagehooks/functions/api';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isLocalHost } from '../aws-endpoint';
import { readBody } from '../http';
import { lambdaContext } from '../lambda-context';
import type { LocalTokens } from './tokens';

/** The admin API Lambda's timeout: API Gateway answers an integration within 30 s at most. */
const ADMIN_API_TIMEOUT_SECONDS = 30;

export const API_PREFIX = '/api';

export interface ApiServerOptions {
  handler: AdminApiHandler;
  tokens: LocalTokens;
  /** Origins the console may call from besides the server's own. */
  corsOrigins: string[];
  port: number;
}

const problem = (
  response: ServerResponse,
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
) => {
  response.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  response.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
};

/**
 * The admin API on Node's HTTP server: each request under /api becomes the API Gateway (HTTP API,
 * payload 2.0) event the Lambda gets on AWS, with the bearer token checked here as the JWT authorizer
 * would, and goes to the same handler.
 */
export function createApiServer(options: ApiServerOptions): Server {
  const ownOrigins = [`http://127.0.0.1:${options.port}`, `http://localhost:${options.port}`];
  const allowedOrigins = new Set([...ownOrigins, ...options.corsOrigins]);

  return createServer((request, response) => {
    void (async () => {
      if (!isLocalHost(request.headers.host)) {
        problem(
          response,
          403,
          'Forbidden',
          'the local admin API answers requests to 127.0.0.1 or localhost only',
        );
        return;
      }
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const origin = request.headers.origin;
      const cors: Record<string, string> =
        origin && allowedOrigins.has(origin)
          ? {
              'access-control-allow-origin': origin,
              'access-control-allow-headers': 'authorization, content-type',
              'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
              'access-control-expose-headers': 'location',
              'access-control-max-age': '600',
              vary: 'origin',
            }
          : { vary: 'origin' };
      if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) {
        problem(response, 404, 'Not Found', `no route ${url.pathname}; the admin API is under ${API_PREFIX}`);
        return;
      }
      if (request.method === 'OPTIONS') {
        response.writeHead(204, cors);
        response.end();
        return;
      }
      const body = await readBody(request, MAX_BODY_BYTES);
      if (body === 'too large') {
        problem(
          response,
          413,
          'Payload Too Large',
          `the body is over the ${MAX_BODY_BYTES}-byte limit`,
          cors,
        );
        return;
      }
      const authorization = request.headers.authorization;
      let claims: Record<string, string> | undefined;
      if (authorization !== undefined) {
        const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
        const caller = token ? options.tokens.callerOf(token) : undefined;
        if (!caller) {
          problem(response, 401, 'Unauthorized', 'the bearer token is not valid', {
            ...cors,
            'www-authenticate': 'Bearer',
          });
          return;
        }
        claims = { sub: caller.actor, username: caller.actor, 'cognito:groups': `[${caller.role}]` };
      }
      const headers = Object.fromEntries(
        Object.entries(request.headers)
          .filter(([name]) => name !== 'authorization')
          .map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]),
      );
      const query = new Map<string, string>();
      for (const [name, value] of url.searchParams)
        query.set(name, query.has(name) ? `${query.get(name)},${value}` : value);
      const rawPath = url.pathname.slice(API_PREFIX.length) || '/';
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: '$default',
        rawPath,
        rawQueryString: url.search.slice(1),
        headers,
        ...(query.size > 0 && { queryStringParameters: Object.fromEntries(query) }),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: '127.0.0.1',
          domainPrefix: 'local',
          http: {
            method: request.method ?? 'GET',
            path: rawPath,
            protocol: `HTTP/${request.httpVersion}`,
            sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
            userAgent: request.headers['user-agent'] ?? '',
          },
          requestId: randomUUID(),
          routeKey: '$default',
          stage: '$default',
          time: new Date().toUTCString(),
          timeEpoch: Date.now(),
          ...(claims && { authorizer: { jwt: { claims, scopes: [] } } }),
        } as APIGatewayProxyEventV2['requestContext'],
        ...(body.length > 0 && { body: body.toString('utf8') }),
        isBase64Encoded: false,
      };
      const result = await options.handler(
        event,
        lambdaContext('stagehooks-admin-api', ADMIN_API_TIMEOUT_SECONDS),
      );
      response.writeHead(result.statusCode, { ...result.headers, ...cors });
      response.end(result.body ?? '');
    })().catch((error: unknown) => {
      console.error('api server:', error);
      if (!response.headersSent)
        problem(response, 500, 'Internal Server Error', 'the request failed; see the stack output');
      else response.end();
    });
  });
}

export { LocalTokens } from './tokens';
