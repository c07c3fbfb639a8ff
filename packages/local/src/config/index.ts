import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOrThrow } from '@stagehooks/core/domain';
import { DEFAULT_REVIEW_TIMEOUT_SECONDS } from '@stagehooks/core/engine';
import { ValidationError } from '@stagehooks/core/errors';
import { DEFAULT_SCRIPT_LIMITS, type ScriptUser } from '@stagehooks/core/executors/script';
import { parseWebhookAllowlist } from '@stagehooks/core/executors/webhook';
import { z } from 'zod';

const Port = z.coerce.number({ error: 'must be a port from 1 to 65535' }).int().min(1).max(65535);
const wholeNumber = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/** The local stack's environment, parsed once at start; every variable is documented in the README. */
const LocalEnv = z.object({
  STAGEHOOKS_HOME: z.string().min(1).default('.stagehooks'),
  STAGEHOOKS_PORT: Port.default(4100),
  STAGEHOOKS_AWS_PORT: Port.default(4101),
  STAGEHOOKS_DYNAMODB_PORT: Port.default(4102),
  STAGEHOOKS_DEMO_RECEIVER_PORT: Port.default(4103),
  STAGEHOOKS_TABLE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')
    .default('stagehooks'),
  STAGEHOOKS_LOG_RETENTION_DAYS: z.coerce
    .number({ error: 'must be a whole number of days from 1 to 3650' })
    .int()
    .min(1)
    .max(3650)
    .default(30),
  STAGEHOOKS_REVIEW_TIMEOUT_SECONDS: z.coerce
    .number({ error: 'must be a whole number of seconds' })
    .int()
    .min(1)
    // Node timers hold at most 2^31-1 ms (24.8 days); a longer wait would fire at once.
    .max(2_147_483, 'must be at most 2147483 seconds (24.8 days) locally')
    .default(DEFAULT_REVIEW_TIMEOUT_SECONDS),
  STAGEHOOKS_EVENT_TARGET_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
    .optional(),
  STAGEHOOKS_WEBHOOK_ALLOW: z.string().default(''),
  STAGEHOOKS_SCRIPT_SANDBOX: z.enum(['auto', 'bubblewrap', 'none']).default('auto'),
  STAGEHOOKS_SCRIPT_MAX_PROCESSES: wholeNumber(4, 1_000_000).default(DEFAULT_SCRIPT_LIMITS.processes),
  STAGEHOOKS_SCRIPT_TMP_MIB: wholeNumber(1, 1024 * 1024).default(DEFAULT_SCRIPT_LIMITS.diskMiB),
  STAGEHOOKS_SCRIPT_UID: wholeNumber(1, 2 ** 31 - 1).default(65534),
  STAGEHOOKS_SCRIPT_GID: wholeNumber(1, 2 ** 31 - 1).default(65534),
  STAGEHOOKS_SCRIPT_USERS: wholeNumber(1, 1024).default(16),
  STAGEHOOKS_DEMO: flag.default(true),
  STAGEHOOKS_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  STAGEHOOKS_AWS_ACCESS_KEY_ID: z
    .string()
    .regex(/^\w{16,128}$/, 'must be an AWS access key id: 16 to 128 letters, digits or underscores')
    .optional(),
  STAGEHOOKS_AWS_SECRET_ACCESS_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  STAGEHOOKS_CORS_ORIGINS: z.string().default(''),
  STAGEHOOKS_MEDIA_DIRS: z.string().default(''),
  STAGEHOOKS_MEDIA_OUT: z.string().min(1, 'must name a folder').optional(),
  STAGEHOOKS_CATALOG_DIR: z.string().min(1).optional(),
});

/** The catalog that ships with stagehooks: `catalog/` at the repository's root. */
export const BUNDLED_CATALOG_DIR = fileURLToPath(new URL('../../../../catalog', import.meta.url));

export interface LocalConfig {
  home: string;
  dataDir: { dynamodb: string; executions: string; scripts: string; venvs: string };
  ports: { api: number; aws: number; dynamodb: number; demoReceiver: number };
  tableName: string;
  logRetentionDays: number;
  reviewTimeoutSeconds: number;
  eventTargetUrl: string | undefined;
  webhookAllow: string[];
  scriptSandbox: 'auto' | 'bubblewrap' | 'none';
  /** ProcessScriptRunner's `processes` and `diskMiB` limits. */
  scriptLimits: { processes: number; diskMiB: number };
  /** Run as root, the stack runs scripts as this user and the `scriptUsers - 1` below it (`runAs`). */
  scriptUser: ScriptUser;
  scriptUsers: number;
  demo: boolean;
  /** Unset: generated once into <home>/admin-token. */
  adminToken: string | undefined;
  /** The key pair the AWS-compatible endpoint accepts. Unset: generated once into <home>/aws-credentials. */
  awsCredentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Origins besides the API's own that may call it from a browser (a console dev server, say). */
  corsOrigins: string[];
  /** The hook catalog's folder (default: the one that ships with stagehooks). */
  catalogDir: string;
  /**
   * The folders scripts may read media from (STAGEHOOKS_MEDIA_DIRS, `:`-separated) and the root of the
   * per-job folders they write (STAGEHOOKS_MEDIA_OUT, default <home>/media-out): ProcessScriptRunner's
   * `media`. Null without media folders: scripts then see no host folder and get no output folder.
   */
  media: { dirs: string[]; outputRoot: string } | null;
}

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const parsed = parseOrThrow(LocalEnv, env, 'environment');
  const { STAGEHOOKS_AWS_ACCESS_KEY_ID: accessKeyId, STAGEHOOKS_AWS_SECRET_ACCESS_KEY: secretAccessKey } =
    parsed;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const [missing, set] = accessKeyId
      ? ['STAGEHOOKS_AWS_SECRET_ACCESS_KEY', 'STAGEHOOKS_AWS_ACCESS_KEY_ID']
      : ['STAGEHOOKS_AWS_ACCESS_KEY_ID', 'STAGEHOOKS_AWS_SECRET_ACCESS_KEY'];
    throw new ValidationError('environment', [{ path: missing, message: `is required with ${set}` }]);
  }
  const home = resolve(parsed.STAGEHOOKS_HOME);
  return {
    home,
    dataDir: {
      dynamodb: resolve(home, 'dynamodb'),
      executions: resolve(home, 'executions'),
      scripts: resolve(home, 'scripts'),
      venvs: resolve(home, 'venvs'),
    },
    ports: {
      api: parsed.STAGEHOOKS_PORT,
      aws: parsed.STAGEHOOKS_AWS_PORT,
      dynamodb: parsed.STAGEHOOKS_DYNAMODB_PORT,
      demoReceiver: parsed.STAGEHOOKS_DEMO_RECEIVER_PORT,
    },
    tableName: parsed.STAGEHOOKS_TABLE,
    logRetentionDays: parsed.STAGEHOOKS_LOG_RETENTION_DAYS,
    reviewTimeoutSeconds: parsed.STAGEHOOKS_REVIEW_TIMEOUT_SECONDS,
    eventTargetUrl: parsed.STAGEHOOKS_EVENT_TARGET_URL,
    webhookAllow: parseWebhookAllowlist(parsed.STAGEHOOKS_WEBHOOK_ALLOW),
    scriptSandbox: parsed.STAGEHOOKS_SCRIPT_SANDBOX,
    scriptLimits: {
      processes: parsed.STAGEHOOKS_SCRIPT_MAX_PROCESSES,
      diskMiB: parsed.STAGEHOOKS_SCRIPT_TMP_MIB,
    },
    scriptUser: { uid: parsed.STAGEHOOKS_SCRIPT_UID, gid: parsed.STAGEHOOKS_SCRIPT_GID },
    scriptUsers: parsed.STAGEHOOKS_SCRIPT_USERS,
    demo: parsed.STAGEHOOKS_DEMO,
    adminToken: parsed.STAGEHOOKS_ADMIN_TOKEN,
    awsCredentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    corsOrigins: parsed.STAGEHOOKS_CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    catalogDir: parsed.STAGEHOOKS_CATALOG_DIR ? resolve(parsed.STAGEHOOKS_CATALOG_DIR) : BUNDLED_CATALOG_DIR,
    media: mediaConfig(parsed.STAGEHOOKS_MEDIA_DIRS, parsed.STAGEHOOKS_MEDIA_OUT, home),
  };
}

function mediaConfig(dirs: string, out: string | undefined, home: string): LocalConfig['media'] {
  const folders = dirs
    .split(':')
    .map((dir) => dir.trim())
    .filter(Boolean)
    .map((dir) => resolve(dir));
  if (folders.length === 0) return null;
  if (folders.includes('/'))
    throw new ValidationError('environment', [
      { path: 'STAGEHOOKS_MEDIA_DIRS', message: 'must not include / (scripts would read the whole host)' },
    ]);
  return { dirs: folders, outputRoot: resolve(out ?? resolve(home, 'media-out')) };
}
