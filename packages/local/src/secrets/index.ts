import { readFile } from 'node:fs/promises';
import type { SecretResolver } from '@stagehooks/core/ports';

/**
 * Local secrets for webhook auth: `STAGEHOOKS_SECRET_<REF>` in the environment (the ref upper-cased,
 * other characters as `_`), else the `<home>/secrets.json` map `{ "<ref>": "<value>" }`.
 */
export class LocalSecretResolver implements SecretResolver {
  constructor(
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async resolve(secretRef: string): Promise<string> {
    const fromEnv = this.env[`STAGEHOOKS_SECRET_${secretRef.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
    if (fromEnv) return fromEnv;
    let secrets: Record<string, unknown> = {};
    try {
      secrets = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
    } catch {
      // no file: only the environment holds secrets
    }
    const value = secrets[secretRef];
    if (typeof value !== 'string')
      throw new Error(`secret "${secretRef}" is not set (environment or ${this.file})`);
    return value;
  }
}
