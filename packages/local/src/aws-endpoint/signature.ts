import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { StagehooksError } from '@stagehooks/core/errors';

/** Headers every request must sign: the SDK signs all three. */
const REQUIRED_SIGNED_HEADERS = ['host', 'x-amz-date', 'x-amz-target'] as const;

/** The one key pair the endpoint accepts. */
export interface AwsKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A request refused before anything it asks is done, with the `__type` and status AWS answers. */
export class SignatureError extends StagehooksError {
  constructor(
    readonly awsType: string,
    message: string,
    override readonly statusCode = 403,
  ) {
    super(message);
    this.name = awsType;
  }
}

/** A request as it was received: what its signature covers. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far X-Amz-Date may be from this machine's clock: AWS allows 5 minutes either way. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';

const incomplete = (message: string) => new SignatureError('IncompleteSignatureException', message, 400);
const headerValue = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};
/** `20261203T133820Z`, as X-Amz-Date carries it. */
const basicIso = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

function authorizationFields(authorization: string) {
  const [algorithm, ...rest] = authorization.trim().split(/\s+/);
  if (algorithm !== ALGORITHM)
    throw incomplete(`Authorization header requires the ${ALGORITHM} algorithm. Authorization=${algorithm}`);
  const fields = new Map(
    rest
      .join(' ')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const),
  );
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !fields.get(name));
  if (missing.length > 0)
    throw incomplete(missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' '));
  return {
    credential: fields.get('Credential') as string,
    signedHeaders: fields.get('SignedHeaders') as string,
    signature: fields.get('Signature') as string,
  };
}

function signingDate(amzDate: string | undefined, now: Date): Date {
  const match = amzDate && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!match)
    throw incomplete(
      amzDate
        ? `X-Amz-Date must be in ISO 8601 basic format (20261203T133820Z). Got '${amzDate}'.`
        : "Authorization header requires existence of a 'X-Amz-Date' header.",
    );
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  const date = new Date(Date.UTC(year as number, (month as number) - 1, day, hour, minute, second as number));
  const skew = date.getTime() - now.getTime();
  if (skew < -MAX_CLOCK_SKEW_MS) {
    const earliest = basicIso(new Date(now.getTime() - MAX_CLOCK_SKEW_MS));
    throw new SignatureError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${earliest} (${basicIso(now)} - 5 min.)`,
      400,
    );
  }
  if (skew > MAX_CLOCK_SKEW_MS) {
    const latest = basicIso(new Date(now.getTime() + MAX_CLOCK_SKEW_MS));
    throw new SignatureError(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${latest} (${basicIso(now)} + 5 min.)`,
      400,
    );
  }
  return date;
}

/**
 * Checks a request's Signature Version 4 as AWS does: the access key must be the endpoint's, the date
 * within 5 minutes, the scope `<date>/<region>/<service>/aws4_request`; the signature is computed again
 * with the secret key (by @smithy/signature-v4, the SDK's own signer) over the method, path, query,
 * signed headers and body received, and compared in constant time. Throws a SignatureError otherwise.
 */
export async function verifySignature(
  request: ReceivedRequest,
  keys: AwsKeyPair,
  service: string,
  now: Date = new Date(),
): Promise<void> {
  const authorization = headerValue(request.headers, 'authorization');
  if (authorization === undefined)
    throw new SignatureError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const fields = authorizationFields(authorization);
  const date = signingDate(headerValue(request.headers, 'x-amz-date'), now);
  const [accessKeyId, , region, scopeService, terminator, ...extra] = fields.credential.split('/');
  if (!region || terminator !== 'aws4_request' || extra.length > 0)
    throw incomplete(
      `Credential must have the form <access key>/<date>/<region>/<service>/aws4_request. Got '${fields.credential}'.`,
    );
  if (accessKeyId !== keys.accessKeyId)
    throw new SignatureError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  if (scopeService !== service)
    throw new SignatureError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${service}'.`,
    );

  // The signer takes a signed body hash header as it is: it must be the hash of this body.
  const bodyHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (bodyHash !== undefined && bodyHash !== createHash('sha256').update(request.body).digest('hex'))
    throw new SignatureError('InvalidSignatureException', MISMATCH);

  const queryAt = request.url.indexOf('?');
  const params = new URLSearchParams(queryAt < 0 ? '' : request.url.slice(queryAt + 1));
  const query = Object.fromEntries([...new Set(params.keys())].map((name) => [name, params.getAll(name)]));
  const signedNames = fields.signedHeaders.split(';');
  // What says which operation and where, signed, or a captured request could be sent as another one
  // (the same body to StopExecution instead of DescribeExecution). AWS requires `host` too.
  for (const name of REQUIRED_SIGNED_HEADERS) {
    if (!signedNames.includes(name))
      throw new SignatureError('InvalidSignatureException', `The ${name} header must be signed.`);
  }
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headerValue(request.headers, name);
    if (value !== undefined) headers[name] = value;
  }
  const signer = new SignatureV4({
    credentials: keys,
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: queryAt < 0 ? request.url : request.url.slice(0, queryAt),
      query,
      headers,
      body: request.body,
    },
    {
      signingDate: date,
      signingRegion: region,
      signingService: service,
      signableHeaders: new Set(signedNames),
    },
  );
  const expected = /SignedHeaders=([^,]*), Signature=([0-9a-f]+)$/.exec(String(signed.headers.authorization));
  const given = Buffer.from(fields.signature);
  const computed = Buffer.from(expected?.[2] ?? '');
  if (
    expected?.[1] !== fields.signedHeaders ||
    given.length !== computed.length ||
    !timingSafeEqual(given, computed)
  )
    throw new SignatureError('InvalidSignatureException', MISMATCH);
}
