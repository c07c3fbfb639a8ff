import { randomBytes } from 'node:crypto';
import { Hook, type HookInput } from '@stagehooks/core/domain';
import type { SecretResolver, WebhookHook } from '@stagehooks/core/ports';
import type { ReceivedRequest } from '@test/http-receiver';

/** A stored webhook hook, parsed as the registry would return it, with config fields replaced. */
export function webhookHook(config: Record<string, unknown>): WebhookHook {
  const hook = Hook.parse({
    id: '01JWEBHOOK0000000000000000',
    name: 'color_grade',
    description: 'studio look',
    type: 'webhook',
    hookPoint: 'post_segment',
    scopeType: 'project',
    scopeId: 'p1',
    failureMode: 'block',
    sortOrder: 10,
    enabled: true,
    revision: 3,
    config,
    createdBy: 'alice',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  });
  if (hook.type !== 'webhook') throw new Error('the fixture must be a webhook hook');
  return hook;
}

export function hookInput(overrides: Partial<HookInput> = {}): HookInput {
  return {
    invocationId: '01JINVOCATION000000000000A',
    hookPoint: 'post_segment',
    jobId: 'job-42',
    projectId: 'p1',
    sceneTypeId: 'st-dance',
    segmentPath: 's3://bucket/job-42/seg-3.mp4',
    metadata: { fps: 24 },
    sceneContext: { mood: 'bright' },
    hook: { id: '01JWEBHOOK0000000000000000', name: 'color_grade', revision: 3 },
    attempt: 1,
    test: false,
    outputs: {},
    verdict: 'passed',
    ...overrides,
  };
}

export const newSigningSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/** The SecretResolver port over a fixed table; unknown refs fail as a secrets store would. */
export class TableSecretResolver implements SecretResolver {
  readonly resolved: string[] = [];
  constructor(private readonly table: Record<string, string>) {}

  async resolve(secretRef: string): Promise<string> {
    this.resolved.push(secretRef);
    const value = this.table[secretRef];
    if (value === undefined)
      throw Object.assign(new Error(`secret ${secretRef} not found`), { name: 'ResourceNotFoundException' });
    return value;
  }
}

/** Request headers in the shape `Webhook.verify` takes. */
export function signedHeaders(request: ReceivedRequest): Record<string, string> {
  const pick = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : '';
  };
  return {
    'webhook-id': pick('webhook-id'),
    'webhook-timestamp': pick('webhook-timestamp'),
    'webhook-signature': pick('webhook-signature'),
  };
}
