import { z } from 'zod';
import { ValidationError } from '../errors';
import { compilePattern } from '../events/pattern';
import { BODY_TEMPLATE_LIMIT_BYTES, bodyTemplateIssues } from './body-template';
import {
  boundedJsonObject,
  isJsonValue,
  type JsonValue,
  jsonBytes,
  jsonTooDeepAt,
  recordOfOwnKeys,
  tooDeepMessage,
} from './json';
import { outputSchemaIssues } from './output-schema';
import { FailureMode, HookName, HookPoint, ScopeId, ScopeType, Timestamp } from './vocabulary';

const KiB = 1024;
const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const HttpHeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name');
/** Set by the engine on every request; a hook may not override them. */
const reservedHeaders = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-length',
  'content-type',
  'host',
  'connection',
  'transfer-encoding',
]);

/** Credentials in plain headers would be returned to every reader of the hook: they go in `auth`. */
const credentialHeaders = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'x-auth-token',
]);

export const SecretRef = z
  .string()
  .regex(/^[A-Za-z0-9/_+=.@:-]{1,512}$/, 'must be a secret name or ARN (letters, digits and /_+=.@:-)');

/** Standard Webhooks secret: `whsec_` followed by base64 of at least 24 random bytes. */
export const SigningSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be "whsec_" followed by base64 of at least 24 bytes');

export const WebhookAuth = z
  .strictObject({
    type: z.enum(['bearer', 'basic', 'header']),
    secretRef: SecretRef,
    headerName: HttpHeaderName.optional(),
  })
  .superRefine((auth, ctx) => {
    if (auth.type === 'header' && !auth.headerName) {
      ctx.addIssue({ code: 'custom', path: ['headerName'], message: 'is required when type is "header"' });
    }
    if (auth.type !== 'header' && auth.headerName) {
      ctx.addIssue({
        code: 'custom',
        path: ['headerName'],
        message: 'is only allowed when type is "header"',
      });
    }
  });

/**
 * `bodyTemplate`: the body a webhook sends instead of the hook input, a JSON value whose strings may
 * hold `{{path}}` placeholders into it; refused, naming the string, when a placeholder names no
 * hook-input field (docs/api.md, "Body templates").
 */
export const BodyTemplate = z
  .custom<JsonValue>((value) => value !== undefined, { error: 'must be a JSON value' })
  .superRefine((template, ctx) => {
    if (jsonTooDeepAt(template) !== null) {
      ctx.addIssue({ code: 'custom', message: tooDeepMessage() });
      return;
    }
    if (!isJsonValue(template)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON value' });
      return;
    }
    if (jsonBytes(template) > BODY_TEMPLATE_LIMIT_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${BODY_TEMPLATE_LIMIT_BYTES / KiB} KiB as JSON`,
      });
      return;
    }
    for (const issue of bodyTemplateIssues(template))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });

const webhookConfigShape = {
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: recordOfOwnKeys(
    HttpHeaderName,
    z
      .string()
      .max(4 * KiB)
      .regex(/^[^\r\n\0]*$/, 'must not contain line breaks'),
  )
    .superRefine((headers, ctx) => {
      for (const name of Object.keys(headers)) {
        if (reservedHeaders.has(name.toLowerCase())) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'is set by stagehooks and cannot be overridden',
          });
        }
        if (credentialHeaders.has(name.toLowerCase())) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'carries credentials: use auth with a secretRef, which is never shown',
          });
        }
      }
    })
    .optional(),
  timeoutSeconds: z.int().min(1).max(60).default(10),
  retry: z.strictObject({ maxAttempts: z.int().min(1).max(10).default(3) }).optional(),
  auth: WebhookAuth.optional(),
  bodyTemplate: BodyTemplate.optional().describe(
    'the body to send instead of the hook input: any JSON value (at most 16 KiB) whose strings may hold {{path}} placeholders into the hook input, e.g. {{jobId}} or {{metadata.resolution}}; a string that is one placeholder becomes the value itself',
  ),
};

/** `https://user:pw@host/` -> `https://***:***@host/`: hooks saved before URLs with credentials were refused. */
function maskCredentials(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return url;
  parsed.username = '***';
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}

export const WebhookConfig = z.strictObject({
  ...webhookConfigShape,
  // Still refused when sent (it carries credentials), never shown to a reader.
  url: webhookConfigShape.url.overwrite(maskCredentials),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;

/** What the sender accepts in a header value (node:http's rule): tabs and visible Latin-1, no controls. */
const sendableHeaderValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What could never be sent is refused when a hook is saved; hooks saved before these rules still read. */
function sendableWebhook(
  config: { url: string; headers?: Record<string, string> | undefined },
  ctx: z.RefinementCtx,
) {
  if (URL.canParse(config.url)) {
    const url = new URL(config.url);
    if (url.username !== '' || url.password !== '')
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'must not carry credentials (user:password@): put them in auth, with a secretRef',
      });
  }
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (!sendableHeaderValue.test(value))
      ctx.addIssue({
        code: 'custom',
        path: ['headers', name],
        message: 'may hold only tabs and visible Latin-1 characters (U+0020-U+007E, U+0080-U+00FF)',
      });
    const first = seen.get(name.toLowerCase());
    if (first !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['headers', name],
        message: `repeats ${first}: header names are case-insensitive`,
      });
    seen.set(name.toLowerCase(), name);
  }
}

/** What an admin sends: the stored config plus the write-only signing secret. */
export const WebhookConfigInput = z
  .strictObject({
    ...webhookConfigShape,
    signingSecret: SigningSecret.optional(),
  })
  .superRefine(sendableWebhook);

/** A path inside the script store: relative, no `..` segment, no backslash. */
export const StorePath = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((path, ctx) => {
    if (path.startsWith('/'))
      ctx.addIssue({ code: 'custom', message: 'must be relative to the script store' });
    if (path.split('/').includes('..')) ctx.addIssue({ code: 'custom', message: 'must not contain ".."' });
    if (!/^[A-Za-z0-9._/-]+$/.test(path))
      ctx.addIssue({ code: 'custom', message: 'may only contain letters, digits, ".", "_", "-" and "/"' });
  });

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name')
  .refine((name) => !name.startsWith('STAGEHOOKS_'), 'STAGEHOOKS_* variables are set by stagehooks');

const scriptConfigShape = {
  script: z
    .string()
    .min(1)
    .refine((s) => utf8Bytes(s) <= 64 * KiB, 'must be at most 64 KiB')
    .optional(),
  scriptPath: StorePath.optional(),
  args: z
    .array(z.string().max(4 * KiB))
    .max(64)
    .optional(),
  env: recordOfOwnKeys(EnvName, z.string().max(4 * KiB)).optional(),
  timeoutSeconds: z.int().min(1).max(900).default(30),
  isolation: z.enum(['pool', 'task']).default('pool'),
};

function exactlyOneSource(
  config: { script?: string | undefined; scriptPath?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (config.script !== undefined && config.scriptPath !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['scriptPath'],
      message: 'give either script or scriptPath, not both',
    });
  } else if (config.script === undefined && config.scriptPath === undefined) {
    ctx.addIssue({ code: 'custom', path: ['script'], message: 'is required unless scriptPath is given' });
  }
}

/**
 * Bounds under which a script always starts: bwrap takes each variable as 3 arguments (it stops at 9000)
 * and Linux takes at most ARG_MAX (2 MiB) of arguments and environment together.
 */
export const MAX_ENV_ENTRIES = 256;
export const MAX_ENV_BYTES = 32 * KiB;

/** What could never start is refused when a hook is saved; hooks saved before these rules still read. */
function runnableScript(
  config: { args?: string[] | undefined; env?: Record<string, string> | undefined },
  ctx: z.RefinementCtx,
) {
  const env = Object.entries(config.env ?? {});
  if (env.length > MAX_ENV_ENTRIES)
    ctx.addIssue({
      code: 'custom',
      path: ['env'],
      message: `has ${env.length} variables; at most ${MAX_ENV_ENTRIES}`,
    });
  const bytes = env.reduce((sum, [name, value]) => sum + utf8Bytes(name) + utf8Bytes(value), 0);
  if (bytes > MAX_ENV_BYTES)
    ctx.addIssue({
      code: 'custom',
      path: ['env'],
      message: `holds ${bytes} bytes of names and values; at most ${MAX_ENV_BYTES / KiB} KiB`,
    });
  // A process cannot be given a NUL; in bwrap's argument list it would split one value into two.
  for (const [name, value] of env) {
    if (value.includes('\0'))
      ctx.addIssue({ code: 'custom', path: ['env', name], message: 'must not contain a NUL character' });
  }
  config.args?.forEach((arg, index) => {
    if (arg.includes('\0'))
      ctx.addIssue({ code: 'custom', path: ['args', index], message: 'must not contain a NUL character' });
  });
}

export const ShellConfig = z.strictObject(scriptConfigShape).superRefine(exactlyOneSource);
export type ShellConfig = z.infer<typeof ShellConfig>;
export const PythonConfig = z
  .strictObject({ ...scriptConfigShape, venv: StorePath.optional() })
  .superRefine(exactlyOneSource);
export type PythonConfig = z.infer<typeof PythonConfig>;

/** `when`: an EventBridge content-filter pattern on the hook input; refused, naming the bad part, if invalid. */
export const HookCondition = boundedJsonObject(4 * KiB).superRefine((pattern, ctx) => {
  try {
    compilePattern(pattern);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues)
      ctx.addIssue({
        code: 'custom',
        path: issue.path === '' ? [] : issue.path.split('.'),
        message: issue.message,
      });
  }
});

/** `outputSchema`: JSON Schema 2020-12 for the result's `data`, refused when ajv cannot compile it. */
export const OutputSchema = boundedJsonObject(16 * KiB).superRefine((schema, ctx) => {
  for (const issue of outputSchemaIssues(schema))
    ctx.addIssue({
      code: 'custom',
      path: issue.path === '' ? [] : issue.path.split('.'),
      message: issue.message,
    });
});

export const HookMode = z.enum(['inline', 'detached']);
export type HookMode = z.infer<typeof HookMode>;

/** A detached hook runs after the verdict has gone out: it cannot hold the stage. */
function detachedDoesNotBlock(
  hook: { mode?: string | undefined; failureMode?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (hook.mode === 'detached' && hook.failureMode === 'block')
    ctx.addIssue({
      code: 'custom',
      path: ['mode'],
      message: 'detached hooks run after the verdict and cannot block: use failureMode warn or ignore',
    });
}

const commonFields = {
  name: HookName,
  description: z.string().max(1024).default(''),
  hookPoint: HookPoint,
  scopeType: ScopeType,
  scopeId: ScopeId.nullable().optional(),
  failureMode: FailureMode.default('warn'),
  sortOrder: z.int().min(-1_000_000).max(1_000_000).default(100),
  enabled: z.boolean().default(true),
  /** Admins only (the admin API checks the role); what they mean: docs/api.md, "Locked hooks". */
  locked: z.boolean().optional(),
  lockOverride: z.boolean().optional(),
  /** Runs only when the hook input matches (docs/api.md, "Conditions"). */
  when: HookCondition.optional().describe(
    'an EventBridge content-filter pattern on the hook input: the hook runs only when it matches (at most 4 KiB)',
  ),
  mode: HookMode.default('inline').describe(
    'detached: runs after the stage verdict has gone out and cannot block (failureMode warn or ignore)',
  ),
  outputSchema: OutputSchema.optional().describe(
    "JSON Schema 2020-12 the result's data must match, or the run fails (at most 16 KiB)",
  ),
};

function checkScope(hook: { scopeType: string; scopeId?: string | null | undefined }, ctx: z.RefinementCtx) {
  if (hook.scopeType === 'studio' && hook.scopeId != null) {
    ctx.addIssue({ code: 'custom', path: ['scopeId'], message: 'must be absent or null for studio scope' });
  }
  if (hook.scopeType !== 'studio' && hook.scopeId == null) {
    ctx.addIssue({ code: 'custom', path: ['scopeId'], message: `is required for ${hook.scopeType} scope` });
  }
}

const typeError = { error: 'must be one of webhook, shell, python' };

const webhookWrite = z.strictObject({
  ...commonFields,
  type: z.literal('webhook'),
  config: WebhookConfigInput,
});
const shellWrite = z.strictObject({
  ...commonFields,
  type: z.literal('shell'),
  config: ShellConfig.superRefine(runnableScript),
});
const pythonWrite = z.strictObject({
  ...commonFields,
  type: z.literal('python'),
  config: PythonConfig.superRefine(runnableScript),
});
/** Studio hooks have no scope id: absent becomes null. */
const normaliseScope = <T extends { scopeId?: string | null | undefined }>(hook: T) => ({
  ...hook,
  scopeId: hook.scopeId ?? null,
});

/** A studio `block` hook is a gate: locked unless its creator says otherwise. */
export const lockedByDefault = (hook: { scopeType: string; failureMode?: string | undefined }) =>
  hook.scopeType === 'studio' && hook.failureMode === 'block';

/**
 * The lock fields a write leaves a hook with: those the write gives, else the current hook's (a replace
 * keeps them), else none. A create's defaults are set by `HookCreate` itself.
 */
export const lockFieldsAfter = (
  write: { locked?: boolean | undefined; lockOverride?: boolean | undefined },
  current?: { locked: boolean; lockOverride: boolean },
) => ({
  locked: write.locked ?? current?.locked ?? false,
  lockOverride: write.lockOverride ?? current?.lockOverride ?? false,
});

/** Body of a create: everything an admin decides. */
export const HookCreate = z
  .discriminatedUnion('type', [webhookWrite, shellWrite, pythonWrite], typeError)
  .superRefine(checkScope)
  .superRefine(detachedDoesNotBlock)
  .transform((hook) => ({
    ...normaliseScope(hook),
    locked: hook.locked ?? lockedByDefault(hook),
    lockOverride: hook.lockOverride ?? false,
  }));
export type HookCreate = z.output<typeof HookCreate>;
export type HookCreateInput = z.input<typeof HookCreate>;

const revision = { revision: z.int().min(1) };
/**
 * Body of a replace: the same, plus the revision the admin last read (optimistic concurrency).
 * Without `locked` or `lockOverride` the hook keeps its current value.
 */
export const HookReplace = z
  .discriminatedUnion(
    'type',
    [webhookWrite.extend(revision), shellWrite.extend(revision), pythonWrite.extend(revision)],
    typeError,
  )
  .superRefine(checkScope)
  .superRefine(detachedDoesNotBlock)
  .transform(normaliseScope);
export type HookReplace = z.output<typeof HookReplace>;

/** A catalog entry's id (its folder under `catalog/`). */
export const CatalogEntryId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1-64 lower-case letters, digits or "-"');
/** A semantic version (major.minor.patch, an optional pre-release). */
export const SemVer = z
  .string()
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/,
    'must be a semantic version (1.2.3)',
  );

/** Which catalog entry, at which version, a hook was installed from; set by an install, never by a write. */
export const CatalogRef = z.strictObject({
  id: CatalogEntryId,
  version: SemVer,
  updateAvailable: z
    .boolean()
    .optional()
    .describe('true when the catalog holds a newer version of the entry (set when the API reads the hook)'),
});
export type CatalogRef = z.infer<typeof CatalogRef>;

const storedFields = {
  scopeId: ScopeId.nullable(),
  id: z.string().min(1).max(64),
  revision: z.int().min(1),
  createdBy: z.string().min(1),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  locked: z.boolean(),
  lockOverride: z.boolean().default(false),
  /** Kept through every replace: the hook still says where it came from (edits and all). */
  catalog: CatalogRef.optional(),
};

/** A hook as the registry stores it: never holds a secret. */
const StoredHook = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ ...commonFields, ...storedFields, type: z.literal('webhook'), config: WebhookConfig }),
      z.strictObject({ ...commonFields, ...storedFields, type: z.literal('shell'), config: ShellConfig }),
      z.strictObject({ ...commonFields, ...storedFields, type: z.literal('python'), config: PythonConfig }),
    ],
    typeError,
  )
  .superRefine(checkScope);

/** A hook stored before `locked` existed reads as it would be created now: a studio gate is locked. */
function withLegacyLock(item: unknown) {
  if (item === null || typeof item !== 'object' || 'locked' in item) return item;
  const { scopeType, failureMode } = item as { scopeType?: string; failureMode?: string };
  return { ...item, locked: lockedByDefault({ scopeType: String(scopeType), failureMode }) };
}

/** A hook as the registry returns it. */
export const Hook = z.preprocess(withLegacyLock, StoredHook);
export type Hook = z.output<typeof Hook>;
