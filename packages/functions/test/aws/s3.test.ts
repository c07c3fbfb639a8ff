import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { NotFoundError, StoreError, StoreUnavailableError, ValidationError } from '@stagehooks/core/errors';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3ScriptStore } from '../../src/aws';
import { clientConfig } from '../fixtures';

const client = new S3Client(clientConfig);
const s3 = mockClient(client);
afterEach(() => s3.reset());

const body = (text: string) => sdkStreamMixin(Readable.from([Buffer.from(text, 'utf8')]));

describe('S3ScriptStore', () => {
  it('reads a script under the prefix', async () => {
    // Prepare
    s3.on(GetObjectCommand, { Bucket: 'hook-scripts', Key: 'scripts/checks/lint.sh' }).resolves({
      Body: body('echo "linted été"\n'),
      ContentLength: 19,
    });
    const store = new S3ScriptStore(client, { bucket: 'hook-scripts', prefix: 'scripts/' });

    // Act
    const source = await store.read('checks/lint.sh');

    // Assess
    expect(source).toBe('echo "linted été"\n');
  });

  it.each(['../secrets.sh', 'checks/../../x.sh', 'checks\\..\\x.sh', '/etc/passwd', ''])(
    'refuses %j like DirectoryScriptStore, without asking S3',
    async (path) => {
      // Prepare
      const store = new S3ScriptStore(client, { bucket: 'hook-scripts' });

      // Act
      const error = await store.read(path).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ issues: [{ path: 'config.scriptPath' }] });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    },
  );

  it('says NotFound for a missing key', async () => {
    // Prepare
    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }),
    );
    const store = new S3ScriptStore(client, { bucket: 'hook-scripts' });

    // Act
    const error = await store.read('missing.sh').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ message: 'script missing.sh not found' });
  });

  it('translates throttling into StoreUnavailableError and other faults into StoreError', async () => {
    // Prepare
    s3.on(GetObjectCommand)
      .rejectsOnce(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }))
      .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const store = new S3ScriptStore(client, { bucket: 'hook-scripts' });

    // Act
    const slow = await store.read('a.sh').catch((e: unknown) => e);
    const denied = await store.read('a.sh').catch((e: unknown) => e);

    // Assess
    expect(slow).toBeInstanceOf(StoreUnavailableError);
    expect(denied).toBeInstanceOf(StoreError);
    expect(denied).not.toBeInstanceOf(StoreUnavailableError);
    expect(String(denied)).toContain('s3://hook-scripts/a.sh');
  });

  it('refuses an object larger than maxBytes', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({ Body: body('x'.repeat(2048)), ContentLength: 2048 });
    const store = new S3ScriptStore(client, { bucket: 'hook-scripts', maxBytes: 1024 });

    // Act
    const error = await store.read('big.sh').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(String(error)).toContain('is 2048 bytes; the store serves scripts up to 1024');
  });
});
