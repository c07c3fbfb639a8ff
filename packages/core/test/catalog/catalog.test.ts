import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Catalog,
  type CatalogEntry,
  CatalogInstall,
  compareSemVer,
  loadCatalog,
} from '@stagehooks/core/catalog';
import { NotFoundError, ValidationError } from '@stagehooks/core/errors';
import { describe, expect, it } from 'vitest';

// Pure: what an install builds from an entry, and how bad parameters are named.
const grade: CatalogEntry = {
  id: 'grade',
  version: '1.2.0',
  title: 'Grade',
  description: 'Grades a segment.',
  type: 'python',
  script: 'hook.py',
  hookPoints: ['post_segment'],
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      exposure: { type: 'number', minimum: -3, maximum: 3, default: 0, description: 'stops' },
      lut: { type: 'string', description: 'a .cube file' },
      look: { enum: ['warm', 'cool'], default: 'warm', description: 'named look' },
    },
  },
  defaults: { failureMode: 'warn', timeoutSeconds: 120 },
  outputSchema: { type: 'object', properties: { outputPath: { type: 'string' } } },
  scriptSource: 'import sys\nprint("{}")\n',
  readme: '# Grade\n',
  example: { hookPoint: 'post_segment', params: { exposure: 1 } },
};
const notify: CatalogEntry = {
  id: 'notify',
  version: '1.0.0',
  title: 'Notify',
  description: 'Posts a message.',
  type: 'webhook',
  hookPoints: ['post_delivery'],
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', description: 'incoming webhook' },
      service: { enum: ['slack', 'discord'], default: 'slack', description: 'which service' },
    },
  },
  defaults: { failureMode: 'ignore', timeoutSeconds: 10, mode: 'detached' },
  bodyTemplates: { slack: { text: 'job {{jobId}}' }, discord: { content: 'job {{jobId}}' } },
  scriptSource: null,
  readme: '# Notify\n',
  example: { hookPoint: 'post_delivery', params: { url: 'https://hooks.example.com/x' } },
};
const catalog = new Catalog([notify, grade]);
const at = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  CatalogInstall.parse({ scopeType: 'project', scopeId: 'p1', hookPoint: 'post_segment', params, ...extra });
const issuesOf = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  throw new Error('no error');
};

describe('the catalog', () => {
  it('lists entries by id and reads one with its README and example', () => {
    expect(catalog.list().map((e) => e.id)).toEqual(['grade', 'notify']);
    expect(catalog.get('grade')).toMatchObject({
      readme: '# Grade\n',
      example: grade.example,
      version: '1.2.0',
    });
    expect(() => catalog.get('nope')).toThrow(NotFoundError);
  });

  it('installs a script entry inline, its parameters with defaults as its first argument', () => {
    const { create, catalog: ref } = catalog.install('grade', at({ exposure: 0.5 }));
    expect(ref).toEqual({ id: 'grade', version: '1.2.0' });
    expect(create).toMatchObject({
      name: 'grade',
      type: 'python',
      failureMode: 'warn',
      mode: 'inline',
      outputSchema: grade.outputSchema,
      config: { script: grade.scriptSource, timeoutSeconds: 120 },
    });
    expect(create.type === 'python' && JSON.parse(create.config.args?.[0] ?? '')).toEqual({
      exposure: 0.5,
      look: 'warm',
    });
    const named = catalog.install('grade', at({}, { name: 'studio_look', failureMode: 'block' })).create;
    expect([named.name, named.failureMode]).toEqual(['studio_look', 'block']);
  });

  it('installs a webhook entry with the URL and body template its parameters choose', () => {
    const { create } = catalog.install(
      'notify',
      at({ url: 'https://hooks.example.com/a', service: 'discord' }, { hookPoint: 'post_delivery' }),
    );
    expect(create).toMatchObject({
      type: 'webhook',
      mode: 'detached',
      failureMode: 'ignore',
      config: { url: 'https://hooks.example.com/a', bodyTemplate: { content: 'job {{jobId}}' } },
    });
  });

  it.each([
    [{ exposure: 9 }, 'params.exposure', 'must be <= 3'],
    [{ exposure: 'bright' }, 'params.exposure', 'must be number'],
    [{ look: 'sepia' }, 'params.look', 'must be equal to one of the allowed values: "warm", "cool"'],
    [{ shutter: 1 }, 'params.shutter', 'is not a parameter of grade'],
  ])('refuses parameters %j, naming %s', (params, path, message) => {
    expect(issuesOf(() => catalog.install('grade', at(params)))).toEqual([{ path, message }]);
  });

  it('names a required parameter and a URL the hook would refuse as parameters', () => {
    expect(issuesOf(() => catalog.install('notify', at({}, { hookPoint: 'post_delivery' })))).toEqual([
      { path: 'params.url', message: 'is required' },
    ]);
    expect(
      issuesOf(() => catalog.install('notify', at({ url: 'ftp://x' }, { hookPoint: 'post_delivery' }))),
    ).toEqual([{ path: 'params.url', message: 'must be an http or https URL' }]);
  });

  it('refuses a hook point the entry does not run at, naming hookPoint and the ones it does', () => {
    expect(issuesOf(() => catalog.install('grade', at({}, { hookPoint: 'post_delivery' })))).toEqual([
      { path: 'hookPoint', message: "must be one of the entry's hook points: post_segment" },
    ]);
  });

  it('refuses a detached install of a blocking entry as a write would, naming mode', () => {
    const issues = issuesOf(() =>
      catalog.install('grade', at({}, { mode: 'detached', failureMode: 'block' })),
    );
    expect(issues.map((i) => i.path)).toEqual(['mode']);
  });

  it('says when a newer version of an installed entry is in the catalog', () => {
    expect(catalog.refOf({ catalog: { id: 'grade', version: '1.1.9' } })).toEqual({
      id: 'grade',
      version: '1.1.9',
      updateAvailable: true,
    });
    expect(catalog.refOf({ catalog: { id: 'grade', version: '1.2.0' } })?.updateAvailable).toBe(false);
    expect(catalog.refOf({ catalog: { id: 'gone', version: '1.0.0' } })?.updateAvailable).toBe(false);
    expect(catalog.refOf({})).toBeUndefined();
  });

  it('orders versions as semver does', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.10', '1.2.0-rc.2', '0.9.9', '2.0.0'].sort(compareSemVer);
    expect(sorted).toEqual(['0.9.9', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0', '1.10.0', '2.0.0']);
  });
});

describe('loading a catalog folder', () => {
  const withFolder = async (files: Record<string, string>, work: (dir: string) => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), 'stagehooks-catalog-'));
    try {
      for (const [path, text] of Object.entries(files)) {
        await mkdir(join(dir, path, '..'), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      await work(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const { scriptSource: _s, readme: _r, example, ...file } = grade;
  const good = {
    'grade/entry.json': JSON.stringify(file),
    'grade/hook.py': 'print("{}")\n',
    'grade/README.md': '# Grade\n',
    'grade/example.json': JSON.stringify(example),
  };

  it('loads every folder with an entry.json, script, README and example', async () => {
    await withFolder(good, async (dir) => {
      const loaded = await loadCatalog(dir);
      expect(loaded.get('grade')).toMatchObject({ readme: '# Grade\n', example });
    });
  });

  it.each([
    [
      'an id that is not its folder',
      { 'grade/entry.json': JSON.stringify({ ...file, id: 'other' }) },
      /its id is other/,
    ],
    ['a missing README', { 'grade/README.md': undefined }, /catalog entry grade: .*README\.md/],
    [
      'a bad version',
      { 'grade/entry.json': JSON.stringify({ ...file, version: 'v1' }) },
      /version: must be a semantic version/,
    ],
    [
      'an example that does not install',
      { 'grade/example.json': JSON.stringify({ hookPoint: 'post_segment', params: { exposure: 7 } }) },
      /its example does not install/,
    ],
  ])('refuses %s, naming the entry', async (_case, change, error) => {
    const files = Object.fromEntries(
      Object.entries({ ...good, ...change }).filter(([, text]) => text !== undefined),
    ) as Record<string, string>;
    await withFolder(files, async (dir) => {
      await expect(loadCatalog(dir)).rejects.toThrow(error);
    });
  });
});
