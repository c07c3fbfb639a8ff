/**
 * A catalog entry: a ready-made hook in a folder of its own under `catalog/` (docs/catalog.md). Its
 * `entry.json` says what it is and which parameters it takes (a JSON Schema with defaults); the script,
 * the README and the example sit beside it.
 */
import { z } from 'zod';
import { CatalogEntryId, FailureMode, HookMode, HookPoint, HookType, JsonObject, SemVer } from '../domain';

/** A file name beside entry.json: no folders, no dot files. */
const FileName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be a file name in the folder');

/** `entry.json`, as its folder holds it. */
export const CatalogEntryFile = z
  .strictObject({
    id: CatalogEntryId,
    version: SemVer,
    title: z.string().min(1).max(120),
    description: z.string().min(1).max(1024),
    type: HookType,
    /** The script beside entry.json (shell and python entries). */
    script: FileName.optional(),
    /** The points the entry is made for; it installs at any. */
    hookPoints: z.array(HookPoint).min(1),
    /** JSON Schema 2020-12 of the parameters: an object schema, each parameter with its default if it has one. */
    params: JsonObject,
    defaults: z.strictObject({
      failureMode: FailureMode,
      timeoutSeconds: z.int().min(1).max(900),
      mode: HookMode.optional(),
    }),
    /** The result's data, as the installed hook's `outputSchema`. */
    outputSchema: JsonObject.optional(),
    /** Webhook entries: the body template per value of their `service` parameter. */
    bodyTemplates: z.record(z.string().min(1), z.unknown()).optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.type !== 'webhook' && entry.script === undefined)
      ctx.addIssue({ code: 'custom', path: ['script'], message: `is required for a ${entry.type} entry` });
    if (entry.type === 'webhook' && entry.script !== undefined)
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'a webhook entry has no script' });
    if (entry.type === 'webhook' && entry.bodyTemplates === undefined)
      ctx.addIssue({ code: 'custom', path: ['bodyTemplates'], message: 'is required for a webhook entry' });
    if (entry.params.type !== 'object')
      ctx.addIssue({ code: 'custom', path: ['params', 'type'], message: 'must be "object"' });
  });
export type CatalogEntryFile = z.output<typeof CatalogEntryFile>;

/** `example.json`: the install the entry's README shows and the tests run. */
export const CatalogExample = z.strictObject({
  hookPoint: HookPoint,
  params: JsonObject,
  /** What running it shows, in a sentence. */
  description: z.string().max(1024).optional(),
});
export type CatalogExample = z.output<typeof CatalogExample>;

/** An entry as the catalog holds it: the file, with its script's text, README and example. */
export interface CatalogEntry extends CatalogEntryFile {
  /** The script's source, installed inline (a hook's inline script: at most 64 KiB); null for webhook entries. */
  scriptSource: string | null;
  readme: string;
  example: CatalogExample;
}
