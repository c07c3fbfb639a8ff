/**
 * The hook catalog through the local stack as a studio uses it: entries installed by the admin API, run
 * by the engine in the sandbox on media made with the real ffmpeg, each handing its findings and its
 * file on to the next hook and to the verdict.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApiClient } from '@test/admin-api';
import { makeExampleMedia, meanColor, probe } from '@test/media';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ADMIN = 'admin-token-for-the-catalog-tests';
let t: TestStack;
let mediaDir: string;
let media: Awaited<ReturnType<typeof makeExampleMedia>>;

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'stagehooks-catalog-media-'));
  // Scripts run as an unprivileged user: the studio's media must be readable by it.
  await chmod(mediaDir, 0o755);
  media = await makeExampleMedia(mediaDir);
  t = await startTestStack({ STAGEHOOKS_ADMIN_TOKEN: ADMIN, STAGEHOOKS_MEDIA_DIRS: mediaDir });
}, 180_000);
afterAll(async () => {
  await t?.close();
  await rm(mediaDir, { recursive: true, force: true });
});

const api = adminApiClient(() => t.stack.endpoints.api, ADMIN);
const install = (id: string, body: Record<string, unknown>) =>
  api('POST', `/catalog/${id}/install`, { body });

describe('catalog entries through the local stack', () => {
  it('probe -> grade -> watermark: installed by the API, each hands its findings and its file on', {
    timeout: 150_000,
  }, async () => {
    // Arrange
    const project = 'p-catalog-chain';
    const scope = { scopeType: 'project', scopeId: project, hookPoint: 'post_segment' };
    const installs = [
      await install('media-probe', { ...scope, sortOrder: 10 }),
      await install('color-grade', { ...scope, sortOrder: 20, params: { saturation: 0 } }),
      await install('watermark', { ...scope, sortOrder: 30, params: { text: 'SH', opacity: 1 } }),
    ];
    for (const answer of installs) expect(answer.status, answer.text).toBe(201);
    expect(installs.map((a) => a.body.catalog)).toEqual([
      { id: 'media-probe', version: '1.0.0', updateAvailable: false },
      { id: 'color-grade', version: '1.0.0', updateAvailable: false },
      { id: 'watermark', version: '1.0.0', updateAvailable: false },
    ]);

    // Act
    await t.emit({
      hookPoint: 'post_segment',
      jobId: 'job-catalog',
      projectId: project,
      segmentPath: media.segment,
      metadata: { scene: 3 },
    });
    const verdict = await t.receiver.verdict('job-catalog', 'post_segment', 120_000).catch(async (error) => {
      const logs = (await t.stack.logs.listByJob('job-catalog')).items;
      throw new Error(
        `no verdict; logs: ${JSON.stringify(logs.map((l) => [l.hookName, l.status, l.stderr, l.errorMessage]))}`,
        { cause: error },
      );
    });

    // Assess: passed; the probe's findings match ffprobe's; the graded file went to the watermark
    const detail = verdict.detail as {
      verdict: string;
      outputs: Record<string, Record<string, unknown>>;
      stage: { segmentPath: string; metadata: Record<string, unknown> };
      patches: Array<{ name: string; patch: { segmentPath?: string } }>;
    };
    expect(detail.verdict, JSON.stringify(detail)).toBe('passed');
    const probed = await probe(media.segment);
    expect(detail.outputs['media-probe']?.duration).toBeCloseTo(Number(probed.format.duration), 2);
    expect(detail.outputs['media-probe']).toMatchObject({ width: 320, height: 240, videoCodec: 'h264' });
    const outputDir = join(t.home, 'media-out', 'job-catalog');
    const graded = detail.outputs['color-grade']?.outputPath as string;
    const marked = detail.outputs.watermark?.outputPath as string;
    expect(graded.startsWith(`${outputDir}/`)).toBe(true);
    expect(marked.startsWith(`${outputDir}/`)).toBe(true);
    // The probe patches the metadata only; grade and watermark each hand their file on.
    expect(detail.patches.map((p) => [p.name, p.patch.segmentPath])).toEqual([
      ['media-probe', undefined],
      ['color-grade', graded],
      ['watermark', marked],
    ]);
    expect(detail.stage.segmentPath).toBe(marked);
    expect(detail.stage.metadata).toMatchObject({
      scene: 3,
      media: { width: 320, height: 240, videoCodec: 'h264' },
    });
    // The watermark worked on the grey file the grade handed it: its picture has no colour left.
    const colour = await meanColor(marked, undefined, 1);
    expect(Math.max(Math.abs(colour.r - colour.g), Math.abs(colour.g - colour.b))).toBeLessThan(3);
    // The logs hold what each hook handed on.
    const logs = (await t.stack.logs.listByJob('job-catalog')).items;
    expect(logs.map((l) => [l.hookName, l.status]).sort()).toEqual([
      ['color-grade', 'passed'],
      ['media-probe', 'passed'],
      ['watermark', 'passed'],
    ]);
    const original = createHash('sha256')
      .update(await readFile(media.segment))
      .digest('hex');
    expect(
      createHash('sha256')
        .update(await readFile(marked))
        .digest('hex'),
    ).not.toBe(original);
  });

  it('refuses an unknown entry, and params that do not fit the entry, naming them', async () => {
    // Act
    const unknown = await install('no-such-entry', {
      scopeType: 'project',
      scopeId: 'p-x',
      hookPoint: 'post_segment',
    });
    const badParams = await install('color-grade', {
      scopeType: 'project',
      scopeId: 'p-x',
      hookPoint: 'post_segment',
      params: { saturation: 'grey' },
    });

    // Assess
    expect(unknown.status).toBe(404);
    expect(badParams.status).toBe(400);
    expect(badParams.text).toContain('params.saturation');
  });
});
