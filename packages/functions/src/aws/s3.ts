import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, StoreError, StoreUnavailableError, ValidationError } from '@stagehooks/core/errors';
import type { ScriptStore } from '@stagehooks/core/executors/script';

export interface S3ScriptStoreOptions {
  bucket: string;
  /** Key prefix of the store inside the bucket (e.g. `scripts/`); default the bucket root. */
  prefix?: string;
  /** Larger objects are refused rather than loaded into the runner's memory; default 1 MiB. */
  maxBytes?: number;
}

const outsideTheStore = (path: string) =>
  new ValidationError('script path', [
    { path: 'config.scriptPath', message: `"${path}" leads outside the script store` },
  ]);

/** S3 answers a missing key with 403 when the reader may not list the bucket: say so, not just "denied". */
const missingNames = new Set(['NoSuchKey', 'NotFound']);
const transientNames = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'TimeoutError',
]);

/** `scriptPath` hooks' sources in an S3 bucket: the AWS counterpart of DirectoryScriptStore. */
export class S3ScriptStore implements ScriptStore {
  private readonly prefix: string;
  private readonly maxBytes: number;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3ScriptStoreOptions,
  ) {
    this.prefix = options.prefix ? `${options.prefix.replace(/\/+$/, '')}/` : '';
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
  }

  async read(path: string): Promise<string> {
    // The same rule as DirectoryScriptStore: S3 would take `a/../b` literally, but a store path never has it.
    const segments = path.split(/[\\/]/);
    if (path === '' || path.startsWith('/') || segments.includes('..')) throw outsideTheStore(path);
    const key = `${this.prefix}${path}`;
    const where = `s3://${this.options.bucket}/${key}`;
    let output: GetObjectCommandOutput;
    try {
      output = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (missingNames.has(name)) throw new NotFoundError('script', path);
      if (transientNames.has(name)) throw new StoreUnavailableError(`read script ${where}`, { cause: error });
      const hint =
        name === 'AccessDenied'
          ? ' (access denied: the key may not exist, or the runner may not read it)'
          : '';
      throw new StoreError(`read script ${where}${hint}`, { cause: error });
    }
    const { Body: body, ContentLength: length = 0 } = output;
    if (length > this.maxBytes) {
      // Not read: close the connection instead of leaving the stream open.
      if (body && 'destroy' in body && typeof body.destroy === 'function') body.destroy();
      throw new ValidationError('script', [
        {
          path: 'config.scriptPath',
          message: `${where} is ${length} bytes; the store serves scripts up to ${this.maxBytes}`,
        },
      ]);
    }
    if (body === undefined) throw new StoreError(`read script ${where}: the object has no body`);
    try {
      return await body.transformToString('utf-8');
    } catch (error) {
      throw new StoreError(`read script ${where}`, { cause: error });
    }
  }
}
