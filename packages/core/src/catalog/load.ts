import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseOrThrow } from '../domain';
import { StagehooksError } from '../errors';
import { Catalog, CatalogInstall } from './catalog';
import { type CatalogEntry, CatalogEntryFile, CatalogExample } from './entry';

/** Where an example's parameters may name the folder that holds a studio's media (the tests fill it in). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder examples hold, not a template
export const MEDIA_DIR_PLACEHOLDER = '${MEDIA_DIR}';

/**
 * The catalog in `dir`: every folder holding an `entry.json`. Each entry is checked whole when loaded (its
 * file, that its id is its folder's name, its parameter schema, its script, README and example, and that
 * its example installs as a valid hook), so a broken entry stops the service at start, naming the entry
 * and what is wrong, instead of failing an install later.
 */
export async function loadCatalog(dir: string): Promise<Catalog> {
  let folders: string[];
  try {
    folders = (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name);
  } catch (error) {
    throw new StagehooksError(`the hook catalog folder ${dir} cannot be read`, { cause: error });
  }
  const entries: CatalogEntry[] = [];
  for (const folder of folders.sort()) {
    const at = join(dir, folder);
    const file = await readIfThere(join(at, 'entry.json'));
    if (file === null) continue;
    entries.push(await loadEntry(at, folder, file));
  }
  const catalog = new Catalog(entries);
  for (const entry of entries) {
    try {
      catalog.install(entry.id, exampleInstall(entry));
    } catch (error) {
      throw new StagehooksError(`catalog entry ${entry.id}: its example does not install`, { cause: error });
    }
  }
  return catalog;
}

/** The install an entry's example makes, at a project scope. */
export function exampleInstall(
  entry: Pick<CatalogEntry, 'example'>,
  mediaDir = '/media',
): ReturnType<typeof CatalogInstall.parse> {
  const params = JSON.parse(JSON.stringify(entry.example.params).replaceAll(MEDIA_DIR_PLACEHOLDER, mediaDir));
  return CatalogInstall.parse({
    scopeType: 'project',
    scopeId: 'example',
    hookPoint: entry.example.hookPoint,
    params,
  });
}

async function loadEntry(at: string, folder: string, text: string): Promise<CatalogEntry> {
  const subject = `catalog entry ${folder}`;
  try {
    const file = parseOrThrow(CatalogEntryFile, JSON.parse(text), `${subject} (entry.json)`);
    if (file.id !== folder)
      throw new StagehooksError(`its id is ${file.id}: an entry's id is its folder's name`);
    const scriptSource = file.script === undefined ? null : await readFile(join(at, file.script), 'utf8');
    const readme = await readFile(join(at, 'README.md'), 'utf8');
    const example = parseOrThrow(
      CatalogExample,
      JSON.parse(await readFile(join(at, 'example.json'), 'utf8')),
      `${subject} (example.json)`,
    );
    return { ...file, scriptSource, readme, example };
  } catch (error) {
    if (error instanceof StagehooksError && error.message.startsWith(subject)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StagehooksError(`${subject}: ${reason}`, { cause: error });
  }
}

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
