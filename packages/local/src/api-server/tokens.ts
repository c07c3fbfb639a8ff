import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '@stagehooks/core/errors';
import { z } from 'zod';

const Role = z.enum(['admin', 'editor', 'viewer']);
const TokensFile = z.strictObject({
  tokens: z.array(
    z.strictObject({
      token: z.string().min(16, 'must be at least 16 characters'),
      role: Role,
      actor: z.string().min(1).max(256),
    }),
  ),
});

export interface LocalCaller {
  actor: string;
  role: z.infer<typeof Role>;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Local bearer tokens, the stand-in for the JWT authorizer: the admin token (STAGEHOOKS_ADMIN_TOKEN,
 * else generated once into <home>/admin-token, readable by its owner only) and optional editor and
 * viewer tokens from <home>/tokens.json.
 */
export class LocalTokens {
  private constructor(
    private readonly entries: Array<{ digest: Buffer; caller: LocalCaller }>,
    readonly adminToken: string,
    readonly adminTokenFile: string | undefined,
  ) {}

  static async load(home: string, adminTokenFromEnv: string | undefined): Promise<LocalTokens> {
    let adminToken = adminTokenFromEnv;
    let adminTokenFile: string | undefined;
    if (!adminToken) {
      adminTokenFile = join(home, 'admin-token');
      adminToken = (await readFile(adminTokenFile, 'utf8').catch(() => '')).trim();
      if (!adminToken) {
        adminToken = `shk_${randomBytes(24).toString('base64url')}`;
        await writeFile(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
      }
      await chmod(adminTokenFile, 0o600);
    }
    const entries: Array<{ digest: Buffer; caller: LocalCaller }> = [
      { digest: digest(adminToken), caller: { actor: 'local-admin', role: 'admin' } },
    ];
    const file = join(home, 'tokens.json');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ValidationError(file, [{ path: '', message: 'is not JSON' }]);
      }
      const parsed = TokensFile.safeParse(json);
      if (!parsed.success) {
        throw new ValidationError(
          file,
          parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        );
      }
      for (const { token, role, actor } of parsed.data.tokens)
        entries.push({ digest: digest(token), caller: { actor, role } });
    }
    return new LocalTokens(entries, adminToken, adminTokenFile);
  }

  /** Compares digests in constant time, so a wrong token reveals nothing about a right one. */
  callerOf(token: string): LocalCaller | undefined {
    const given = digest(token);
    return this.entries.find((entry) => timingSafeEqual(entry.digest, given))?.caller;
  }
}
