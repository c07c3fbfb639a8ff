import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import {
  type CatalogRef,
  FailureMode,
  fieldIssues,
  type Hook,
  HookCondition,
  HookCreate,
  HookMode,
  HookName,
  HookPoint,
  JsonObject,
  newStrictAjv,
  ScopeId,
  ScopeType,
} from '../domain';

import { type FieldIssue, NotFoundError, ValidationError } from '../errors';
import type { CatalogEntry } from './entry';

/** `POST /catalog/{id}/install`: where the hook goes and what it is given; the rest comes from the entry. */
export const CatalogInstall = z.strictObject({
  scopeType: ScopeType,
  scopeId: ScopeId.nullable().optional(),
  hookPoint: HookPoint,
  name: HookName.optional().describe('the hook name (default: the entry id)'),
  failureMode: FailureMode.optional().describe("default: the entry's"),
  sortOrder: z.int().min(-1_000_000).max(1_000_000).optional(),
  enabled: z.boolean().optional(),
  when: HookCondition.optional(),
  mode: HookMode.optional().describe("default: the entry's, else inline"),
  params: JsonObject.default({}).describe(
    "the entry's parameters, checked against its schema (defaults filled in)",
  ),
});
export type CatalogInstall = z.output<typeof CatalogInstall>;
export type CatalogInstallInput = z.input<typeof CatalogInstall>;

/** An entry as `GET /catalog` lists it. */
export interface CatalogItem {
  id: string;
  version: string;
  title: string;
  description: string;
  type: CatalogEntry['type'];
  hookPoints: CatalogEntry['hookPoints'];
  params: Record<string, unknown>;
  defaults: CatalogEntry['defaults'];
}

/** An entry as `GET /catalog/{id}` reads it: its item, README (markdown) and example install. */
export interface CatalogDetail extends CatalogItem {
  readme: string;
  example: CatalogEntry['example'];
  outputSchema: Record<string, unknown> | null;
}

/** What an install writes: the hook definition and where it came from. */
export interface CatalogHook {
  create: HookCreate;
  catalog: { id: string; version: string };
}

/**
 * The ready-made hooks, as loaded from `catalog/` (`loadCatalog`). Installing builds a plain hook from an
 * entry: the script inline with its parameters as its first argument (JSON), or, for a webhook entry,
 * the URL and body template its parameters choose. What is installed runs as installed: a newer version
 * of the entry changes nothing until it is installed again (the hook's `catalog.updateAvailable` says so).
 */
export class Catalog {
  private readonly entries: ReadonlyMap<string, CatalogEntry>;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(entries: readonly CatalogEntry[]) {
    this.entries = new Map([...entries].sort((a, b) => a.id.localeCompare(b.id)).map((e) => [e.id, e]));
    for (const entry of entries) this.validators.set(entry.id, compileParams(entry));
  }

  list(): CatalogItem[] {
    return [...this.entries.values()].map(itemOf);
  }

  /** Throws NotFoundError (404) for an id the catalog does not hold. */
  get(id: string): CatalogDetail {
    const entry = this.entry(id);
    return {
      ...itemOf(entry),
      readme: entry.readme,
      example: entry.example,
      outputSchema: entry.outputSchema ?? null,
    };
  }

  /**
   * The hook `request` installs from entry `id`. Bad parameters are a ValidationError naming each as
   * `params.<name>`; anything else the hook would not pass as a write, under its own field.
   */
  install(id: string, request: CatalogInstall): CatalogHook {
    const entry = this.entry(id);
    if (!entry.hookPoints.includes(request.hookPoint))
      throw new ValidationError(`install of ${entry.id}`, [
        {
          path: 'hookPoint',
          message: `must be one of the entry's hook points: ${entry.hookPoints.join(', ')}`,
        },
      ]);
    const params = this.checkedParams(entry, request.params);
    const candidate = {
      name: request.name ?? entry.id,
      description: `${entry.title}: ${entry.description}`.slice(0, 1024),
      type: entry.type,
      hookPoint: request.hookPoint,
      scopeType: request.scopeType,
      scopeId: request.scopeId,
      failureMode: request.failureMode ?? entry.defaults.failureMode,
      ...(request.sortOrder !== undefined && { sortOrder: request.sortOrder }),
      ...(request.enabled !== undefined && { enabled: request.enabled }),
      ...(request.when !== undefined && { when: request.when }),
      mode: request.mode ?? entry.defaults.mode ?? 'inline',
      ...(entry.outputSchema !== undefined && { outputSchema: entry.outputSchema }),
      config: configOf(entry, params),
    };
    const parsed = HookCreate.safeParse(candidate);
    if (!parsed.success) {
      throw new ValidationError(`install of ${entry.id}`, fieldIssues(parsed.error).map(asParamIssue(entry)));
    }
    return { create: parsed.data, catalog: { id: entry.id, version: entry.version } };
  }

  /** The hook's catalog reference as the API shows it: with whether a newer version is in the catalog. */
  refOf(hook: Pick<Hook, 'catalog'>): CatalogRef | undefined {
    if (!hook.catalog) return undefined;
    const latest = this.entries.get(hook.catalog.id)?.version;
    const { id, version } = hook.catalog;
    return { id, version, updateAvailable: latest !== undefined && compareSemVer(latest, version) > 0 };
  }

  private entry(id: string): CatalogEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new NotFoundError('catalog entry', id);
    return entry;
  }

  /** The parameters with the schema's defaults filled in (a copy); every problem at once. */
  private checkedParams(entry: CatalogEntry, given: Record<string, unknown>): Record<string, unknown> {
    const params = structuredClone(given);
    const validate = this.validators.get(entry.id)!;
    if (!validate(params)) {
      throw new ValidationError(
        `parameters of ${entry.id}`,
        (validate.errors ?? []).map((error) => paramIssue(entry, error)),
      );
    }
    return params;
  }
}

/** The hook config an entry installs as, given its checked parameters. */
function configOf(entry: CatalogEntry, params: Record<string, unknown>) {
  const timeoutSeconds = entry.defaults.timeoutSeconds;
  if (entry.type === 'webhook') {
    const service = typeof params.service === 'string' ? params.service : 'default';
    return {
      url: params.url,
      timeoutSeconds,
      ...(entry.bodyTemplates?.[service] !== undefined && { bodyTemplate: entry.bodyTemplates[service] }),
    };
  }
  return { script: entry.scriptSource, args: [JSON.stringify(params)], timeoutSeconds };
}

/** A webhook entry's URL is its `url` parameter: a problem with it is named as the parameter. */
const asParamIssue =
  (entry: CatalogEntry) =>
  (issue: FieldIssue): FieldIssue =>
    entry.type === 'webhook' && issue.path === 'config.url' ? { ...issue, path: 'params.url' } : issue;

function itemOf(entry: CatalogEntry): CatalogItem {
  const { id, version, title, description, type, hookPoints, params, defaults } = entry;
  return { id, version, title, description, type, hookPoints, params, defaults };
}

/** Every error reported, and the schema's defaults filled in. */
const paramsAjv = newStrictAjv({ allErrors: true, useDefaults: true });

/** Throws (naming the entry) when its params are not a schema ajv can compile. */
export function compileParams(entry: Pick<CatalogEntry, 'id' | 'params'>): ValidateFunction {
  try {
    return paramsAjv.compile(entry.params);
  } catch (error) {
    throw new Error(`catalog entry ${entry.id}: params is not a JSON Schema ajv can compile`, {
      cause: error,
    });
  }
}

/** An ajv error on the parameters as `params.<name>: reason`. */
function paramIssue(entry: CatalogEntry, error: ErrorObject): FieldIssue {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') {
    segments.push(String(error.params.additionalProperty));
    return { path: ['params', ...segments].join('.'), message: `is not a parameter of ${entry.id}` };
  }
  const allowed =
    error.keyword === 'enum' && Array.isArray(error.params.allowedValues)
      ? `: ${error.params.allowedValues.map((value: unknown) => JSON.stringify(value)).join(', ')}`
      : '';
  const message = error.keyword === 'required' ? 'is required' : `${error.message ?? 'is invalid'}${allowed}`;
  return { path: ['params', ...segments].join('.'), message };
}

/** Semantic version order (pre-releases before their release); > 0 when `a` is newer. */
export function compareSemVer(a: string, b: string): number {
  const split = (v: string) => {
    const dash = v.indexOf('-');
    const core = dash === -1 ? v : v.slice(0, dash);
    return { parts: core.split('.').map(Number), pre: dash === -1 ? undefined : v.slice(dash + 1) };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}
