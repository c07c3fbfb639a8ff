import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { redactTaskTokens } from '@stagehooks/core/engine';
import type { LocalEventBus } from '../event-bus';
import { readBody } from '../http';
import type { LocalStepFunctions } from '../step-functions/local-step-functions';
import { AwsApiError } from './api-error';
import { type AwsKeyPair, SignatureError, verifySignature } from './signature';

export {
  AWS_PROFILE,
  awsCredentialsFile,
  type LocalAwsCredentials,
  loadAwsCredentials,
  localAwsCredentials,
} from './credentials';
export { type AwsKeyPair, SignatureError, verifySignature } from './signature';

const MAX_BODY_BYTES = 1024 * 1024;
/** The signing name of each service, by the prefix of its X-Amz-Target. */
const SERVICES: Record<string, string> = { AWSEvents: 'events', AWSStepFunctions: 'states' };
/** Fields the AWS JSON protocols carry as epoch seconds. */
const DATE_FIELDS = new Set(['startDate', 'stopDate', 'creationDate', 'timestamp']);

type Operation = (body: Record<string, unknown>) => unknown;

/**
 * An AWS-compatible endpoint for the real SDK clients: EventBridge PutEvents (JSON 1.1) and the Step
 * Functions subset stagehooks uses (JSON 1.0). It listens on 127.0.0.1 only and answers only requests
 * signed (SigV4) with `credentials`, the stack's key pair.
 */
export function createAwsEndpoint(deps: {
  sfn: LocalStepFunctions;
  bus: LocalEventBus;
  credentials: AwsKeyPair;
}) {
  const { sfn, bus, credentials } = deps;
  const operations: Record<string, Operation> = {
    // Events come into the product here: their Detail nests at most as deep as any JSON it accepts.
    'AWSEvents.PutEvents': (body) => bus.putEvents(body.Entries as unknown[]),
    'AWSStepFunctions.ListStateMachines': () => ({ stateMachines: sfn.listStateMachines() }),
    'AWSStepFunctions.StartExecution': (body) =>
      sfn.startExecution({
        stateMachineArn: String(body.stateMachineArn),
        ...(typeof body.name === 'string' && { name: body.name }),
        ...(typeof body.input === 'string' && { input: body.input }),
      }),
    'AWSStepFunctions.DescribeExecution': (body) => sfn.describeExecution(String(body.executionArn)),
    'AWSStepFunctions.ListExecutions': (body) =>
      sfn.listExecutions(body as Parameters<LocalStepFunctions['listExecutions']>[0]),
    // Whoever reads a history here must not learn a token that would let it decide a review.
    'AWSStepFunctions.GetExecutionHistory': (body) => {
      const page = sfn.getExecutionHistory(body as Parameters<LocalStepFunctions['getExecutionHistory']>[0]);
      return { ...page, events: redactTaskTokens(page.events) };
    },
    'AWSStepFunctions.StopExecution': (body) =>
      sfn.stopExecution(body as Parameters<LocalStepFunctions['stopExecution']>[0]),
    'AWSStepFunctions.SendTaskSuccess': (body) =>
      sfn.sendTaskSuccess(body as Parameters<LocalStepFunctions['sendTaskSuccess']>[0]),
    'AWSStepFunctions.SendTaskFailure': (body) =>
      sfn.sendTaskFailure(body as Parameters<LocalStepFunctions['sendTaskFailure']>[0]),
  };

  return createServer((request, response) => {
    if (!isLocalHost(request.headers.host)) {
      response.writeHead(403, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify({
          __type: 'AccessDeniedException',
          message: 'this endpoint answers requests to 127.0.0.1 or localhost only',
        }),
      );
      return;
    }
    void handle(operations, credentials, request, response);
  });
}

/**
 * Only requests addressed to this machine by a loopback name: a web page that points its own host
 * name at 127.0.0.1 (DNS rebinding) still sends that name, and is refused.
 */
export function isLocalHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

/** What the caller may be told of an error: an AWS error of its request, or nothing (a fault of ours). */
function clientError(error: unknown): { status: number; type: string; message: string } | undefined {
  if (error instanceof AwsApiError || error instanceof SignatureError)
    return { status: error.statusCode, type: error.awsType, message: error.message };
  if (error instanceof SyntaxError)
    return { status: 400, type: 'SerializationException', message: 'request body is not JSON' };
  return undefined;
}

async function handle(
  operations: Record<string, Operation>,
  credentials: AwsKeyPair,
  request: IncomingMessage,
  response: ServerResponse,
) {
  const target = String(request.headers['x-amz-target'] ?? '');
  const contentType = target.startsWith('AWSEvents.')
    ? 'application/x-amz-json-1.1'
    : 'application/x-amz-json-1.0';
  const reply = (status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': contentType });
    response.end(
      JSON.stringify(body, (key, value) =>
        DATE_FIELDS.has(key) && typeof value === 'number' ? value / 1000 : value,
      ),
    );
  };
  try {
    const service = SERVICES[target.split('.')[0] ?? ''];
    const operation = operations[target];
    if (request.method !== 'POST' || !service) {
      reply(400, {
        __type: 'UnknownOperationException',
        message: `unsupported operation ${target || '(no X-Amz-Target)'}`,
      });
      return;
    }
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === 'too large') throw new AwsApiError('ValidationException', 'request body over 1 MiB');
    await verifySignature(
      { method: request.method, url: request.url ?? '/', headers: request.headers, body },
      credentials,
      service,
    );
    if (!operation) {
      reply(400, { __type: 'UnknownOperationException', message: `unsupported operation ${target}` });
      return;
    }
    const text = body.toString('utf8');
    reply(200, await operation(text ? (JSON.parse(text) as Record<string, unknown>) : {}));
  } catch (error) {
    const known = clientError(error);
    if (known) {
      reply(known.status, { __type: known.type, message: known.message });
      return;
    }
    reply(500, { __type: 'InternalFailure', message: 'the local endpoint failed; see the stack output' });
    console.error('aws endpoint:', error);
  }
}

export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
