import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecretResolver } from '../../src/aws';
import { SecretUnavailableError } from '../../src/errors';
import { clientConfig } from '../fixtures';

const client = new SecretsManagerClient(clientConfig);
const secretsManager = mockClient(client);
afterEach(() => secretsManager.reset());

const secretValue = 'tok_9f8e7d6c5b4a';

describe('SecretsManagerSecretResolver', () => {
  it('reads the secret string by name or ARN', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'webhooks/grading' })
      .resolves({ SecretString: secretValue });
    const resolver = new SecretsManagerSecretResolver(client);

    // Act
    const value = await resolver.resolve('webhooks/grading');

    // Assess
    expect(value).toBe(secretValue);
  });

  it('reuses a value within the TTL, shares concurrent reads, and reads again after it', async () => {
    // Prepare
    let now = 1_000;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: secretValue });
    const resolver = new SecretsManagerSecretResolver(client, { ttlMs: 60_000, now: () => now });

    // Act
    await Promise.all([resolver.resolve('grading'), resolver.resolve('grading')]);
    now += 59_999;
    await resolver.resolve('grading');
    const readsWithinTtl = secretsManager.commandCalls(GetSecretValueCommand).length;
    now += 1;
    await resolver.resolve('grading');

    // Assess
    expect(readsWithinTtl).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('does not keep a failure: the next call reads again', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    secretsManager.on(GetSecretValueCommand).rejectsOnce(throttled).resolves({ SecretString: secretValue });
    const resolver = new SecretsManagerSecretResolver(client);

    // Act
    const first = await resolver.resolve('grading').catch((error: unknown) => error);
    const second = await resolver.resolve('grading');

    // Assess
    expect(first).toBeInstanceOf(SecretUnavailableError);
    expect(second).toBe(secretValue);
  });

  it.each([
    ['ResourceNotFoundException', 'secret "grading" is unavailable: no such secret'],
    [
      'AccessDeniedException',
      'secret "grading" is unavailable: this function may not read it (secretsmanager:GetSecretValue)',
    ],
    [
      'InternalServiceError',
      'secret "grading" is unavailable: Secrets Manager failed (InternalServiceError)',
    ],
  ])('translates %s into a SecretUnavailableError', async (name, message) => {
    // Prepare
    const failure = Object.assign(new Error('from AWS'), { name });
    secretsManager.on(GetSecretValueCommand).rejects(failure);
    const resolver = new SecretsManagerSecretResolver(client);

    // Act
    const error = await resolver.resolve('grading').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error).toMatchObject({
      name: 'SecretUnavailableError',
      message,
      secretRef: 'grading',
      cause: failure,
    });
  });

  it('refuses a binary secret without exposing it', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretBinary: new TextEncoder().encode(secretValue) });
    const resolver = new SecretsManagerSecretResolver(client);

    // Act
    const error = await resolver.resolve('grading').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(String(error)).not.toContain(secretValue);
  });
});
