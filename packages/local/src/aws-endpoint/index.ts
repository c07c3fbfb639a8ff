import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MAX_JSON_DEPTH } from '@stagehooks/core/domain';
import { redactTaskTokens } from '@stagehooks/core/engine';
import { EventBridgeApiError, type LocalEventBus } from '../event-bus';
import { StepFunctionsApiError } from '../step-functions/errors';
import type { LocalStepFunctions } from '../step-functions/local-step-functions';

const MAX_BODY_BYTES = 1024 * 1024;
/** Fields the AWS JSON protocols carry as epoch seconds. */
const DATE_FIELDS = new Set(['startDate', 'stopDate', 'creationDate', 'timestamp']);

type Operation = (body: Record<string, unknown>) => unknown;

/**
 * An AWS-compatible endpoint for the real SDK clients: EventBridge PutEvents (JSON 1.1) and the Step
 * Functions subset stagehooks uses (JSON 1.0). Requests are not signature-checked; it listens on
 * 127.0.0.1 only.
 */
export function createAwsEndpoint(deps: { sfn: LocalStepFunctions; bus: LocalEventBus }) {
  const { sfn, bus } = deps;
  const operations: Record<string, Operation> = {
    // Events come into the product here: their Detail nests at most as deep as any JSON it accepts.
    'AWSEvents.PutEvents': (body) =>
      bus.putEvents(body.Entries as unknown[], { maxDetailDepth: MAX_JSON_DEPTH }),
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
    void handle(operations, request, response);
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

async function handle(
  operations: Record<string, Operation>,
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
    const operation = operations[target];
    if (request.method !== 'POST' || !operation) {
      reply(400, {
        __type: 'UnknownOperationException',
        message: `unsupported operation ${target || '(no X-Amz-Target)'}`,
      });
      return;
    }
    const text = await readBody(request);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    reply(200, await operation(body));
  } catch (error) {
    if (error instanceof StepFunctionsApiError || error instanceof EventBridgeApiError)
      reply(400, { __type: error.awsType, message: error.message });
    else if (error instanceof SyntaxError)
      reply(400, { __type: 'SerializationException', message: 'request body is not JSON' });
    else
      reply(500, { __type: 'InternalFailure', message: 'the local endpoint failed; see the stack output' });
    if (
      !(error instanceof StepFunctionsApiError) &&
      !(error instanceof EventBridgeApiError) &&
      !(error instanceof SyntaxError)
    )
      console.error('aws endpoint:', error);
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new StepFunctionsApiError('ValidationException', 'request body over 1 MiB'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
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
