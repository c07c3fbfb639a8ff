import { resolve } from 'node:path';
import { parseOrThrow } from '@stagehooks/core/domain';
import { z } from 'zod';

const Port = z.coerce.number({ error: 'must be a port from 1 to 65535' }).int().min(1).max(65535);

/** The local stack's environment, parsed once at start; every variable is documented in the README. */
const LocalEnv = z.object({
  STAGEHOOKS_HOME: z.string().min(1).default('.stagehooks'),
  STAGEHOOKS_PORT: Port.default(4100),
  STAGEHOOKS_AWS_PORT: Port.default(4101),
  STAGEHOOKS_DYNAMODB_PORT: Port.default(4102),
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
});

export interface LocalConfig {
  home: string;
  dataDir: { dynamodb: string };
  ports: { api: number; aws: number; dynamodb: number };
  tableName: string;
  logRetentionDays: number;
}

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const parsed = parseOrThrow(LocalEnv, env, 'environment');
  const home = resolve(parsed.STAGEHOOKS_HOME);
  return {
    home,
    dataDir: { dynamodb: resolve(home, 'dynamodb') },
    ports: {
      api: parsed.STAGEHOOKS_PORT,
      aws: parsed.STAGEHOOKS_AWS_PORT,
      dynamodb: parsed.STAGEHOOKS_DYNAMODB_PORT,
    },
    tableName: parsed.STAGEHOOKS_TABLE,
    logRetentionDays: parsed.STAGEHOOKS_LOG_RETENTION_DAYS,
  };
}
