/**
 * The catalog's entries: every manifest against entry.schema.json and the product's vocabulary, and
 * every script run as the runner runs it (a copy alone in a folder, the hook input on stdin, params as
 * argv[1], STAGEHOOKS_OUTPUT_DIR, the sandbox's memory, file-size and CPU limits), on media made with the
 * real ffmpeg, with the documented effect checked on the real output.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MEDIA_DIR_PLACEHOLDER } from '@stagehooks/core/catalog';
import {
  DATA_LIMIT_BYTES,
  failureModes,
  HookInput,
  hookPoints,
  hookTypes,
  outputSchemaIssues,
  outputSchemaMismatch,
  PATCH_LIMIT_BYTES,
  StagePatch,
} from '@stagehooks/core/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Frame,
  frameRgb,
  hasFfmpeg,
  loudness,
  makeClip,
  makeExampleMedia,
  makeImage,
  meanColor,
  probe,
  quadrants,
  regionChroma,
  regionDifference,
  regionMean,
  writeCubeLut,
} from '../support/media';

const exec = promisify(execFile);
const catalogDir = fileURLToPath(new URL('../../catalog/', import.meta.url));
const SCRIPT_LIMIT_BYTES = 64 * 1024;
/** The sandbox's limits, as prlimit sets them (1 GiB address space, 64 MiB files, 300 s CPU). */
const LIMITS = ['--as=1073741824', '--fsize=67108864', '--cpu=300'];

/** Only what these tests read; entry.schema.json is the manifest's definition. */
const Entry = z.looseObject({
  id: z.string(),
  type: z.enum(hookTypes),
  script: z.string().optional(),
  hookPoints: z.array(z.string()),
  params: z.looseObject({
    properties: z.record(z.string(), z.looseObject({ default: z.unknown().optional() })),
    required: z.array(z.string()).optional(),
    anyOf: z.array(z.looseObject({ required: z.array(z.string()) })).optional(),
    oneOf: z.array(z.looseObject({ required: z.array(z.string()) })).optional(),
  }),
  defaults: z.object({ failureMode: z.string(), timeoutSeconds: z.number() }),
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  bodyTemplates: z.record(z.string(), z.unknown()).optional(),
});
type Entry = z.infer<typeof Entry>;
const Example = z.strictObject({ hookPoint: z.string(), params: z.record(z.string(), z.unknown()) });

/** The last stdout line of every script, as catalog/README.md promises it. */
const ResultLine = z.strictObject({
  status: z.enum(['passed', 'failed']),
  message: z.string().min(1),
  data: z.record(z.string(), z.unknown()).optional(),
  patch: StagePatch.optional(),
});
type ResultLine = z.infer<typeof ResultLine>;

const entryIds = (await readdir(catalogDir, { withFileTypes: true }))
  .filter((item) => item.isDirectory())
  .map((item) => item.name)
  .sort();
const entries = new Map<string, Entry>();
for (const id of entryIds) entries.set(id, Entry.parse(await readJson(join(catalogDir, id, 'entry.json'))));
const scriptIds = entryIds.filter((id) => entries.get(id)?.type !== 'webhook');

let work: string;
let mediaDir: string;
let clip: string;
let example: Awaited<ReturnType<typeof makeExampleMedia>>;
let runs = 0;

beforeAll(async () => {
  expect(await hasFfmpeg(), 'ffmpeg and ffprobe must be installed (.ci/run installs them)').toBe(true);
  work = await mkdtemp(join(tmpdir(), 'stagehooks-catalog-'));
  // A space in the media folder's name: every script must take paths as arguments, never through a shell.
  mediaDir = join(work, 'media dir');
  await mkdir(mediaDir);
  example = await makeExampleMedia(mediaDir);
  clip = example.segment;
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface HookRun {
  code: number | null;
  result: ResultLine;
  stderr: string;
  outputDir: string;
  ms: number;
}

interface RunOptions {
  params?: Record<string, unknown>;
  input?: Partial<HookInput> & { verdict?: string };
  /** false: no STAGEHOOKS_OUTPUT_DIR. */
  outputDir?: string | false;
  /** 'file': the input only in STAGEHOOKS_INPUT_FILE, nothing on stdin. */
  inputVia?: 'stdin' | 'file';
}

function hookInput(overrides: RunOptions['input'] = {}) {
  const { verdict, ...fields } = overrides;
  const input = HookInput.parse({
    invocationId: `inv-${++runs}`,
    hookPoint: 'post_segment',
    jobId: 'job-42',
    projectId: 'p1',
    sceneTypeId: 'st-dance',
    segmentPath: clip,
    metadata: {},
    sceneContext: {},
    hook: { id: '01HOOK', name: 'catalog_test', revision: 1 },
    attempt: 1,
    test: false,
    outputs: {},
    ...fields,
  });
  return verdict === undefined ? input : { ...input, verdict };
}

/** Runs a copy of the entry's script alone in a fresh folder, as the installer inlines it. */
async function runHook(id: string, options: RunOptions = {}): Promise<HookRun> {
  const entry = entries.get(id)!;
  const folder = await mkdtemp(join(work, `${id}-`));
  const script = join(folder, entry.script!);
  await copyFile(join(catalogDir, id, entry.script!), script);
  const outputDir = options.outputDir ?? join(folder, 'out');
  if (outputDir) await mkdir(outputDir, { recursive: true });
  const input = JSON.stringify(hookInput(options.input));
  const inputFile = join(folder, 'input.json');
  await writeFile(inputFile, input);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  if (outputDir) env.STAGEHOOKS_OUTPUT_DIR = outputDir;
  if (options.inputVia === 'file') env.STAGEHOOKS_INPUT_FILE = inputFile;
  const interpreter = entry.type === 'python' ? 'python3' : 'bash';
  const started = performance.now();
  const child = spawn(
    'prlimit',
    [...LIMITS, '--', interpreter, script, JSON.stringify(options.params ?? {})],
    {
      cwd: folder,
      env,
    },
  );
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.end(options.inputVia === 'file' ? '' : input);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const ms = performance.now() - started;
  const lines = Buffer.concat(stdout).toString('utf8').trim().split('\n');
  const err = Buffer.concat(stderr).toString('utf8');
  const parsed = ResultLine.safeParse(safeJson(lines.at(-1) ?? ''));
  if (!parsed.success) throw new Error(`${id}: no result line (exit ${code}): ${lines.at(-1)}\n${err}`);
  return { code, result: parsed.data, stderr: err, outputDir: outputDir || folder, ms };
}

/** A passed run, its data and patch within their bounds and the data matching the entry's outputSchema. */
async function passes(id: string, options: RunOptions = {}): Promise<HookRun> {
  const run = await runHook(id, options);
  expect(run.result, run.stderr).toMatchObject({ status: 'passed' });
  expect(run.code).toBe(0);
  expect(Buffer.byteLength(JSON.stringify(run.result.data ?? {}))).toBeLessThanOrEqual(DATA_LIMIT_BYTES);
  expect(Buffer.byteLength(JSON.stringify(run.result.patch ?? {}))).toBeLessThanOrEqual(PATCH_LIMIT_BYTES);
  const schema = entries.get(id)!.outputSchema;
  if (schema) expect(outputSchemaMismatch(schema, run.result.data)).toBeNull();
  return run;
}

async function fails(id: string, options: RunOptions = {}, exitCode = 1): Promise<HookRun> {
  const run = await runHook(id, options);
  expect(run.result.status).toBe('failed');
  expect(run.code).toBe(exitCode);
  return run;
}

describe('catalog manifests', () => {
  let entrySchema: object;
  beforeAll(async () => {
    entrySchema = (await readJson(join(catalogDir, 'entry.schema.json'))) as object;
  });

  it('holds every media entry of issue 13 and chat-notify', () => {
    expect(entryIds).toEqual(
      [
        'chat-notify',
        'color-grade',
        'delivery-manifest',
        'duration-check',
        'loudness-check',
        'media-probe',
        'quality-check',
        'thumbnail',
        'watermark',
      ].sort(),
    );
  });

  it('names in entry.schema.json exactly the product vocabulary', () => {
    const schema = entrySchema as {
      properties: Record<string, { enum?: unknown[]; items?: { enum: unknown[] }; properties?: never }>;
    };
    expect(schema.properties.type?.enum).toEqual([...hookTypes]);
    expect(schema.properties.hookPoints?.items?.enum).toEqual([...hookPoints]);
    const defaults = (
      entrySchema as { properties: { defaults: { properties: { failureMode: { enum: [] } } } } }
    ).properties.defaults.properties.failureMode.enum;
    expect(defaults).toEqual([...failureModes]);
    expect(outputSchemaIssues(entrySchema)).toEqual([]);
  });

  it.each(entryIds)('%s: entry.json is a valid manifest for its folder', async (id) => {
    const raw = await readJson(join(catalogDir, id, 'entry.json'));
    expect(outputSchemaMismatch(entrySchema, raw)).toBeNull();
    const entry = entries.get(id)!;
    expect(entry.id).toBe(id);
    expect(entry.hookPoints.every((point) => (hookPoints as readonly string[]).includes(point))).toBe(true);
    expect((failureModes as readonly string[]).includes(entry.defaults.failureMode)).toBe(true);
    expect(entry.defaults.timeoutSeconds).toBeLessThanOrEqual(entry.type === 'webhook' ? 60 : 900);
    if (entry.type === 'webhook') expect(entry.script).toBeUndefined();
    else {
      const size = (await stat(join(catalogDir, id, entry.script!))).size;
      expect(size).toBeLessThanOrEqual(SCRIPT_LIMIT_BYTES);
    }
  });

  it.each(entryIds)(
    '%s: params and outputSchema are strict JSON Schema 2020-12, every param described',
    (id) => {
      const { params, outputSchema } = entries.get(id)!;
      expect(outputSchemaIssues(params)).toEqual([]);
      if (outputSchema) expect(outputSchemaIssues(outputSchema)).toEqual([]);
      const required = params.required ?? [];
      const alternatives = [...(params.anyOf ?? []), ...(params.oneOf ?? [])].flatMap(
        (branch) => branch.required,
      );
      for (const [name, property] of Object.entries(params.properties)) {
        expect(typeof property.description, `${id}.${name}`).toBe('string');
        if (property.default === undefined)
          expect(required.includes(name) || alternatives.includes(name), `${id}.${name} has no default`).toBe(
            true,
          );
        else {
          expect(required, `${id}.${name} has a default`).not.toContain(name);
          expect(outputSchemaMismatch(property, property.default), `${id}.${name} default`).toBeNull();
        }
      }
    },
  );

  it.each(entryIds)(
    '%s: example.json installs: its params match the schema, its hook point is suggested',
    async (id) => {
      const raw = await readFile(join(catalogDir, id, 'example.json'), 'utf8');
      const example = Example.parse(JSON.parse(raw.replaceAll(MEDIA_DIR_PLACEHOLDER, mediaDir)));
      const entry = entries.get(id)!;
      expect(entry.hookPoints).toContain(example.hookPoint);
      expect(outputSchemaMismatch(entry.params, example.params)).toBeNull();
    },
  );

  it.each(entryIds)('%s: README.md documents every param in its table, and what it returns', async (id) => {
    const readme = await readFile(join(catalogDir, id, 'README.md'), 'utf8');
    const tableNames = [...readme.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
    expect(tableNames.sort()).toEqual(Object.keys(entries.get(id)!.params.properties).sort());
    expect(readme).toMatch(/^## Example/m);
    expect(readme).toMatch(/^## Fail/m);
  });

  it('refuses a manifest that breaks the rules (the check can fail)', () => {
    const probeEntry = structuredClone(entries.get('media-probe')!);
    expect(outputSchemaMismatch(entrySchema, { ...probeEntry, hookPoints: ['post_render'] })).not.toBeNull();
    expect(
      outputSchemaMismatch(entrySchema, {
        ...probeEntry,
        defaults: { failureMode: 'warn', timeoutSeconds: 901 },
      }),
    ).not.toBeNull();
    const openParams = { ...probeEntry.params, additionalProperties: true };
    expect(outputSchemaMismatch(entrySchema, { ...probeEntry, params: openParams })).not.toBeNull();
    expect(outputSchemaMismatch(entrySchema, { ...probeEntry, type: 'webhook' })).not.toBeNull();
  });
});

describe('every script example, end to end on the example media', () => {
  it.each(scriptIds)('%s: its example.json passes on a clean 3 s clip', async (id) => {
    const raw = await readFile(join(catalogDir, id, 'example.json'), 'utf8');
    const { hookPoint, params } = Example.parse(JSON.parse(raw.replaceAll(MEDIA_DIR_PLACEHOLDER, mediaDir)));
    const run = await passes(id, {
      params,
      input: {
        hookPoint: hookPoint as HookInput['hookPoint'],
        metadata: {
          expectedDuration: 3,
          expectedFrames: 72,
          deliveredFiles: [example.segment, example.logo],
        },
        verdict: 'passed',
      },
    });
    expect(run.ms).toBeLessThan(15_000);
  });
});

describe('the runtime contract', () => {
  it.each(scriptIds)('%s: fails with exit 2 and a message on a param that is not its own', async (id) => {
    const run = await fails(id, { params: { noSuchParam: 1 } }, 2);
    expect(run.result.message).toContain('noSuchParam');
  });

  it.each(['color-grade', 'watermark', 'thumbnail', 'delivery-manifest'])(
    '%s: fails with exit 2 naming STAGEHOOKS_OUTPUT_DIR when the runner gives none',
    async (id) => {
      const params = { 'color-grade': { exposure: 1 }, watermark: { text: 'x' } }[id as 'watermark'] ?? {};
      const run = await fails(id, { params, outputDir: false }, 2);
      expect(run.result.message).toContain('STAGEHOOKS_OUTPUT_DIR');
    },
  );

  it('reads the input from STAGEHOOKS_INPUT_FILE when stdin is empty', async () => {
    const run = await passes('media-probe', { inputVia: 'file' });
    expect(run.result.data).toMatchObject({ width: 320, height: 240 });
  });

  it('fails clearly on a segmentPath that is missing or not a local file', async () => {
    const missing = await fails('media-probe', { input: { segmentPath: join(mediaDir, 'nope.mp4') } }, 2);
    expect(missing.result.message).toContain('nope.mp4');
    const remote = await fails('media-probe', { input: { segmentPath: 's3://bucket/seg.mp4' } }, 2);
    expect(remote.result.message).toContain('not a local file');
    const none = await fails('loudness-check', { input: { segmentPath: null } }, 2);
    expect(none.result.message).toContain('segmentPath');
  });

  it('fails on a param value out of its range, naming it', async () => {
    const run = await fails('color-grade', { params: { exposure: 7 } }, 2);
    expect(run.result.message).toContain('exposure');
  });
});

describe('media-probe', () => {
  it('returns what ffprobe reads, and patches it into metadata under metadataKey', async () => {
    const run = await passes('media-probe', { params: { metadataKey: 'qc.media' } });
    const own = await probe(clip);
    const video = own.streams.find((s) => s.codec_type === 'video')!;
    const audio = own.streams.find((s) => s.codec_type === 'audio')!;
    const expected = {
      duration: Number(own.format.duration),
      width: video.width,
      height: video.height,
      frameRate: 24,
      videoCodec: video.codec_name,
      audioCodec: audio.codec_name,
      audioChannels: audio.channels,
    };
    expect(run.result.data).toEqual(expected);
    expect(run.result.patch).toEqual({ metadata: { qc: { media: expected } } });
  });

  it('reads 23.976 fps as 23.976, and no audio as null and 0 channels', async () => {
    const ntsc = await makeClip(work, { fps: '24000/1001', seconds: 1, audio: false });
    const run = await passes('media-probe', { input: { segmentPath: ntsc } });
    expect(run.result.data).toMatchObject({ frameRate: 23.976, audioCodec: null, audioChannels: 0 });
  });
});

describe('color-grade', () => {
  let source: Frame;
  beforeAll(async () => {
    source = await frameRgb(clip, 1);
  });

  it('with exposure +1 raises the mean colour, into a new file it patches in', async () => {
    const run = await passes('color-grade', { params: { exposure: 1 } });
    const output = run.result.data!.outputPath as string;
    expect(run.result.patch).toEqual({ segmentPath: output });
    expect(output.startsWith(run.outputDir)).toBe(true);
    expect(run.result.data!.filters).toContain('exposure');
    const [before, after] = [regionMean(source), await meanColor(output, undefined, 1)];
    // testsrc2's saturated bars clip at 255, so a stop up raises the whole mean by less than 2x.
    expect(after.r + after.g + after.b).toBeGreaterThan(1.04 * (before.r + before.g + before.b));
    const streams = (await probe(output)).streams;
    expect(streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(['video:h264', 'audio:aac']);
  });

  it('with saturation 0 makes every pixel grey', async () => {
    const run = await passes('color-grade', { params: { saturation: 0 } });
    expect(regionChroma(source)).toBeGreaterThan(30);
    expect(regionChroma(await frameRgb(run.result.data!.outputPath as string, 1))).toBeLessThan(3);
  });

  it('with a LUT that drops red leaves no red and keeps green and blue', async () => {
    const lut = await writeCubeLut(join(mediaDir, 'no red.cube'), (_r, g, b) => [0, g, b]);
    const run = await passes('color-grade', { params: { lut } });
    const [before, after] = [
      regionMean(source),
      await meanColor(run.result.data!.outputPath as string, undefined, 1),
    ];
    expect(before.r).toBeGreaterThan(40);
    // Within a few of 255: the LUT's interpolation, YUV 4:2:0 and a second x264 pass.
    expect(after.r).toBeLessThan(8);
    expect(Math.abs(after.g - before.g)).toBeLessThan(8);
    expect(Math.abs(after.b - before.b)).toBeLessThan(8);
  });

  it('fails with nothing to do, or a LUT that is not a LUT file', async () => {
    expect((await fails('color-grade', {}, 2)).result.message).toContain('nothing to grade');
    const notLut = await fails('color-grade', { params: { lut: example.logo } }, 2);
    expect(notLut.result.message).toContain('.cube');
  });
});

describe('watermark', () => {
  const quarter = quadrants(320, 240);
  let source: Frame;
  beforeAll(async () => {
    source = await frameRgb(clip, 1.5);
  });

  /** How much each quadrant changed; x264 at CRF 18 alone moves a value by about 1 on average. */
  async function changes(output: string) {
    const marked = await frameRgb(output, 1.5);
    return Object.fromEntries(
      Object.entries(quarter).map(([name, region]) => [name, regionDifference(source, marked, region)]),
    );
  }

  it('draws text in its corner only, and says where', async () => {
    const run = await passes('watermark', {
      params: { text: 'SH', position: 'bottom-right', opacity: 1, fontSize: 40 },
    });
    const changed = await changes(run.result.data!.outputPath as string);
    expect(changed['bottom-right']).toBeGreaterThan(6);
    for (const name of ['top-left', 'top-right', 'bottom-left'])
      expect(changed[name], name).toBeLessThan(2.5);
    const box = run.result.data!.box as { x: number; y: number; w: number; h: number };
    expect(box.x).toBeGreaterThanOrEqual(160);
    expect(box.y).toBeGreaterThanOrEqual(120);
    // The text sits at the margin; its 1 px outline may reach 1 px into it.
    expect(box.x + box.w).toBeLessThanOrEqual(320 - 16 + 1);
    expect(box.y + box.h).toBeLessThanOrEqual(240 - 16 + 1);
  });

  it('overlays an image at its box, in the top-left corner only', async () => {
    const logo = await makeImage(join(mediaDir, 'red logo.png'), { width: 64, height: 32, color: 'red' });
    const run = await passes('watermark', { params: { image: logo, position: 'top-left', opacity: 1 } });
    const output = run.result.data!.outputPath as string;
    expect(run.result.data).toMatchObject({ position: 'top-left', box: { x: 16, y: 16, w: 64, h: 32 } });
    const inside = regionMean(await frameRgb(output, 1.5), { x: 20, y: 20, w: 56, h: 24 });
    expect(inside.r).toBeGreaterThan(200);
    expect(inside.g + inside.b).toBeLessThan(80);
    const changed = await changes(output);
    for (const name of ['top-right', 'bottom-left', 'bottom-right'])
      expect(changed[name], name).toBeLessThan(2.5);
  });

  it('fails when given both text and image, or an image larger than the picture', async () => {
    expect(
      (await fails('watermark', { params: { text: 'a', image: example.logo } }, 2)).result.message,
    ).toContain('exactly one');
    const huge = await makeImage(join(work, 'huge.png'), { width: 400, height: 100 });
    expect((await fails('watermark', { params: { image: huge } }, 2)).result.message).toContain(
      'does not fit',
    );
  });
});

describe('loudness-check', () => {
  it('passes a -23 LUFS clip and fails a -40 LUFS one, with the measures in data', async () => {
    const quiet = await makeClip(work, { lufs: -40 });
    expect((await loudness(quiet)).integrated).toBeCloseTo(-40, 0);
    const ok = await passes('loudness-check', { params: { target: -23 } });
    expect(ok.result.data!.integrated as number).toBeCloseTo(-23, 0);
    const low = await fails('loudness-check', { input: { segmentPath: quiet } });
    expect(low.result.data).toMatchObject({ target: -23, tolerance: 2 });
    expect(low.result.data!.integrated as number).toBeCloseTo(-40, 0);
    expect(low.result.message).toContain('outside');
  });

  it('fails on a true peak above maxTruePeak', async () => {
    const run = await fails('loudness-check', { params: { maxTruePeak: -30 } });
    expect(run.result.message).toContain('true peak');
  });

  it('fails a clip without audio, saying so', async () => {
    const silent = await makeClip(work, { audio: false, seconds: 1 });
    const run = await fails('loudness-check', { input: { segmentPath: silent } });
    expect(run.result.message).toContain('no audio');
    expect(run.result.data).toMatchObject({ integrated: null, truePeak: null });
  });
});

describe('quality-check', () => {
  it('fails a clip with 1 s of black, with the interval where it is', async () => {
    const dark = await makeClip(work, { blackFrom: 1, blackSeconds: 1 });
    const run = await fails('quality-check', { input: { segmentPath: dark } });
    const black = run.result.data!.black as Array<{ start: number; end: number; duration: number }>;
    expect(black).toHaveLength(1);
    expect(black[0]!.start).toBeCloseTo(1, 1);
    expect(black[0]!.end).toBeCloseTo(2, 1);
    expect(run.result.data!.blackSeconds as number).toBeCloseTo(1, 1);
    expect(run.result.message).toContain('black');
  });

  it('passes a clean clip with no black and nothing frozen', async () => {
    const run = await passes('quality-check');
    expect(run.result.data).toMatchObject({ black: [], frozen: [], blackSeconds: 0, frozenSeconds: 0 });
  });

  it('takes freezeNoise as a number too, and refuses a malformed one', async () => {
    await passes('quality-check', { params: { freezeNoise: -50 } });
    expect((await fails('quality-check', { params: { freezeNoise: 'loud' } }, 2)).result.message).toContain(
      'freezeNoise',
    );
  });
});

describe('duration-check', () => {
  it('passes when duration and frames match the metadata', async () => {
    const run = await passes('duration-check', {
      input: { metadata: { expectedDuration: 3, expectedFrames: 72 } },
    });
    expect(run.result.data).toEqual({ duration: 3, frames: 72, expectedDuration: 3, expectedFrames: 72 });
  });

  it('fails when off, reading a dot path', async () => {
    const run = await fails('duration-check', {
      params: { expectedDurationKey: 'media.expected' },
      input: { metadata: { media: { expected: 2.5 } } },
    });
    expect(run.result.data).toMatchObject({ duration: 3, expectedDuration: 2.5 });
    const frames = await fails('duration-check', { input: { metadata: { expectedFrames: 70 } } });
    expect(frames.result.message).toContain('72 frames');
  });

  it('follows whenMissing when the metadata expects nothing', async () => {
    await fails('duration-check', { input: { metadata: {} } });
    const run = await passes('duration-check', { params: { whenMissing: 'pass' }, input: { metadata: {} } });
    expect(run.result.data).toEqual({ duration: 3 });
  });
});

describe('thumbnail', () => {
  it('writes a JPEG of the asked width, height by aspect', async () => {
    const run = await passes('thumbnail', { params: { width: 160, at: 1.5 } });
    const path = run.result.data!.thumbnailPath as string;
    expect(run.result.data).toMatchObject({ width: 160, height: 120, at: 1.5 });
    const head = (await readFile(path)).subarray(0, 3);
    expect([...head]).toEqual([0xff, 0xd8, 0xff]);
    const [stream] = (await probe(path)).streams;
    expect(stream).toMatchObject({ codec_name: 'mjpeg', width: 160, height: 120 });
  });

  it('moves a time past the end into the clip', async () => {
    const run = await passes('thumbnail', { params: { at: 99 } });
    const at = run.result.data!.at as number;
    expect(at).toBeLessThan(3);
    expect(at).toBeGreaterThan(2.9);
  });
});

describe('delivery-manifest', () => {
  it('lists each delivered file once with the size and digest sha256sum gives', async () => {
    const files = [example.segment, example.logo, example.segment];
    const run = await passes('delivery-manifest', {
      input: { hookPoint: 'post_delivery', metadata: { deliveredFiles: files } },
    });
    const manifestPath = run.result.data!.manifestPath as string;
    const manifest = (await readJson(manifestPath)) as {
      jobId: string;
      hookPoint: string;
      createdAt: string;
      files: Array<{ path: string; size: number; sha256: string }>;
    };
    expect(manifest).toMatchObject({ jobId: 'job-42', hookPoint: 'post_delivery' });
    expect(Number.isNaN(Date.parse(manifest.createdAt))).toBe(false);
    expect(manifest.files.map((file) => file.path)).toEqual([example.segment, example.logo]);
    const sums = await sha256sum([example.segment, example.logo, manifestPath]);
    for (const file of manifest.files) {
      expect(file.sha256).toBe(sums.get(file.path));
      expect(file.size).toBe((await stat(file.path)).size);
    }
    expect(run.result.data).toMatchObject({
      manifestSha256: sums.get(manifestPath),
      fileCount: 2,
      totalBytes: manifest.files[0]!.size + manifest.files[1]!.size,
    });
  });

  it('fails naming a delivered file that is missing', async () => {
    const gone = join(mediaDir, 'gone.mov');
    const run = await fails('delivery-manifest', {
      input: { metadata: { deliveredFiles: [example.logo, gone] } },
    });
    expect(run.result.message).toContain(gone);
  });
});

describe('chat-notify', () => {
  /** Every path a placeholder may take: the hook input's fields (plus `verdict`), and paths under the open ones. */
  const topLevel = [...Object.keys(HookInput.shape), 'verdict'];
  const open = ['metadata', 'sceneContext', 'outputs'];
  /** Fields that are strings in every input: the only ones a string may hold alone (it takes the value's type). */
  const alwaysStrings = ['invocationId', 'hookPoint', 'jobId', 'projectId', 'hook.id', 'hook.name'];

  function stringsOf(value: unknown): string[] {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value)) return value.flatMap(stringsOf);
    if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
    return [];
  }

  it('has a body template for each service it offers', () => {
    const entry = entries.get('chat-notify')!;
    const services = (entry.params.properties.service as { enum: string[] }).enum;
    expect(Object.keys(entry.bodyTemplates!).sort()).toEqual([...services].sort());
    expect(entry.params.required).toEqual(['url']);
  });

  it.each(['slack', 'teams', 'discord'])(
    '%s: the template is JSON the service takes, with known placeholders',
    (service) => {
      const template = entries.get('chat-notify')!.bodyTemplates![service];
      const placeholders = stringsOf(template).flatMap((text) =>
        [...text.matchAll(/\{\{([^}]*)\}\}/g)].map((m) => m[1]!),
      );
      expect(placeholders).toEqual(
        expect.arrayContaining(['jobId', 'projectId', 'hookPoint', 'verdict', 'outputs']),
      );
      for (const path of placeholders) {
        const [head, ...rest] = path.split('.');
        const known =
          topLevel.includes(head!) && (rest.length === 0 || open.includes(head!) || head === 'hook');
        expect(known, `{{${path}}}`).toBe(true);
      }
      for (const text of stringsOf(template)) {
        const lone = /^\{\{([^}]*)\}\}$/.exec(text);
        if (lone) expect(alwaysStrings, `"${text}" would not stay a string`).toContain(lone[1]);
      }
      const shape = {
        slack: z.object({ text: z.string() }),
        teams: z.object({
          type: z.literal('message'),
          attachments: z.array(
            z.object({
              contentType: z.literal('application/vnd.microsoft.card.adaptive'),
              content: z.object({
                type: z.literal('AdaptiveCard'),
                version: z.string(),
                body: z.array(z.unknown()),
              }),
            }),
          ),
        }),
        discord: z.object({
          content: z.string().max(2000),
          embeds: z.array(z.object({ description: z.string() })),
        }),
      }[service]!;
      expect(shape.safeParse(template).success).toBe(true);
    },
  );
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}

async function sha256sum(paths: string[]): Promise<Map<string, string>> {
  const { stdout } = await exec('sha256sum', ['--', ...paths]);
  return new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [digest, ...name] = line.split('  ');
        return [name.join('  '), digest!] as const;
      }),
  );
}
