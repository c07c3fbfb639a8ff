import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretResolver } from '@stagehooks/core/ports';
import { SecretUnavailableError } from '../errors';

export interface SecretsManagerSecretResolverOptions {
  /** How long a value is reused before it is read again (rotation shows up within this); default 5 min. */
  ttlMs?: number;
  now?: () => number;
}

/** Why a read failed, in words an operator can act on; SDK messages never carry secret values. */
const reasons: Record<string, string> = {
  ResourceNotFoundException: 'no such secret',
  AccessDeniedException: 'this function may not read it (secretsmanager:GetSecretValue)',
  DecryptionFailure: 'it could not be decrypted with its KMS key',
  InvalidRequestException: 'it cannot be read now (scheduled for deletion or disabled)',
  InvalidParameterException: 'the reference is not a valid secret name or ARN',
};

/**
 * Webhook auth secrets (`config.auth.secretRef` = a secret's name or ARN) from Secrets Manager. Values are
 * kept in memory for `ttlMs`, so a warm Lambda does not read the same secret for every call; concurrent
 * reads of one secret share a request; failures are not kept. Values are never logged or put in errors.
 */
export class SecretsManagerSecretResolver implements SecretResolver {
  private readonly cache = new Map<string, { value: Promise<string>; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    options: SecretsManagerSecretResolverOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  resolve(secretRef: string): Promise<string> {
    const now = this.now();
    const cached = this.cache.get(secretRef);
    if (cached && cached.expiresAt > now) return cached.value;
    const value = this.read(secretRef);
    this.cache.set(secretRef, { value, expiresAt: now + this.ttlMs });
    value.catch(() => {
      if (this.cache.get(secretRef)?.value === value) this.cache.delete(secretRef);
    });
    return value;
  }

  private async read(secretRef: string): Promise<string> {
    let secret: string | undefined;
    try {
      ({ SecretString: secret } = await this.client.send(new GetSecretValueCommand({ SecretId: secretRef })));
    } catch (error) {
      const name = error instanceof Error ? error.name : 'unknown error';
      throw new SecretUnavailableError(secretRef, reasons[name] ?? `Secrets Manager failed (${name})`, {
        cause: error,
      });
    }
    if (secret === undefined) {
      throw new SecretUnavailableError(secretRef, 'it holds binary data; webhook auth needs a string');
    }
    return secret;
  }
}
