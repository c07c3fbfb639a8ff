/**
 * Test media made and measured with the real ffmpeg / ffprobe: short clips (testsrc2 picture, a sine
 * tone aimed at a loudness, optional black stretch), LUTs and images, and readings of what a hook wrote
 * (frame pixels, mean colours, loudness). Every tool runs as an argument list, never through a shell.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FFMPEG = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '2'];
const MAX_BUFFER = 64 * 1024 * 1024;

export interface ClipOptions {
  /** File name in `dir`; `clip-<n>.mp4` when absent. */
  name?: string;
  seconds?: number;
  width?: number;
  height?: number;
  /** Frames per second, a number or a rational such as `24000/1001`. */
  fps?: number | string;
  /** A sine tone (mono AAC) unless false. */
  audio?: boolean;
  /** The tone's integrated loudness in LUFS, measured and corrected; -21 LUFS (sine at 1/8) when absent. */
  lufs?: number;
  /** A black picture from this time for `blackSeconds` (default 1). */
  blackFrom?: number;
  blackSeconds?: number;
}

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface Frame {
  /** rgb24, row by row. */
  data: Buffer;
  width: number;
  height: number;
}

export interface Loudness {
  integrated: number;
  truePeak: number | null;
  lra: number;
}

export interface ProbeStream {
  codec_type: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  channels?: number;
  duration?: string;
  nb_frames?: string;
}

export interface Probe {
  streams: ProbeStream[];
  format: { duration?: string; format_name?: string; size?: string };
}

export async function hasFfmpeg(): Promise<boolean> {
  try {
    await run('ffmpeg', ['-hide_banner', '-version']);
    await run('ffprobe', ['-hide_banner', '-version']);
    return true;
  } catch {
    return false;
  }
}

export async function ffmpeg(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('ffmpeg', [...FFMPEG, ...args], { maxBuffer: MAX_BUFFER });
}

let clips = 0;

/** A clip: testsrc2 + sine, libx264 yuv420p + AAC in MP4; its path. */
export async function makeClip(dir: string, options: ClipOptions = {}): Promise<string> {
  const { seconds = 3, width = 320, height = 240, fps = 24, audio = true } = options;
  const file = join(dir, options.name ?? `clip-${++clips}.mp4`);
  const gainDb = options.lufs === undefined ? 0 : options.lufs - (await referenceToneLufs());
  await encodeClip(file, { seconds, width, height, fps, audio, gainDb, options });
  if (audio && options.lufs !== undefined) {
    // AAC shifts the loudness a little; one correction brings it within a tenth of a LU.
    const off = options.lufs - (await loudness(file)).integrated;
    if (Math.abs(off) > 0.2)
      await encodeClip(file, { seconds, width, height, fps, audio, gainDb: gainDb + off, options });
  }
  return file;
}

async function encodeClip(
  file: string,
  clip: {
    seconds: number;
    width: number;
    height: number;
    fps: number | string;
    audio: boolean;
    gainDb: number;
    options: ClipOptions;
  },
) {
  const { seconds, width, height, fps, audio, gainDb, options } = clip;
  const picture = `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`;
  const args = ['-y', '-f', 'lavfi', '-i', picture];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${seconds}`);
  if (options.blackFrom !== undefined) {
    const from = options.blackFrom;
    const to = from + (options.blackSeconds ?? 1);
    args.push('-vf', `drawbox=color=black:t=fill:enable='gte(t,${from})*lt(t,${to})'`);
  }
  if (audio) args.push('-af', `volume=${gainDb.toFixed(2)}dB`, '-c:a', 'aac', '-b:a', '128k');
  args.push('-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-t', String(seconds), file);
  await ffmpeg(args);
}

let referenceLufs: Promise<number> | undefined;

/** The loudness of the unscaled sine, measured once. */
function referenceToneLufs(): Promise<number> {
  referenceLufs ??= mkdtemp(join(tmpdir(), 'stagehooks-tone-')).then(async (dir) => {
    const file = join(dir, 'reference-tone.wav');
    await ffmpeg(['-y', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=3', file]);
    try {
      return (await loudness(file)).integrated;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  return referenceLufs;
}

export async function probe(file: string): Promise<Probe> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
    { maxBuffer: MAX_BUFFER },
  );
  return JSON.parse(stdout) as Probe;
}

/** EBU R128 integrated loudness, true peak (null for silence) and loudness range of the first audio stream. */
export async function loudness(file: string): Promise<Loudness> {
  const { stderr } = await run(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-nostats', '-i', file, '-map', '0:a:0'].concat([
      '-filter:a',
      'ebur128=peak=true:framelog=verbose',
      '-f',
      'null',
      '-',
    ]),
    { maxBuffer: MAX_BUFFER },
  );
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const read = (pattern: RegExp) => {
    const value = Number(pattern.exec(summary)?.[1]);
    return Number.isFinite(value) ? value : null;
  };
  const integrated = read(/I:\s+(\S+) LUFS/);
  const lra = read(/LRA:\s+(\S+) LU/);
  if (integrated === null || lra === null) throw new Error(`no ebur128 summary for ${file}: ${summary}`);
  return { integrated, lra, truePeak: read(/Peak:\s+(\S+) dBFS/) };
}

/** The frame shown at `atSeconds` (decoded from the start, so the same frame in any two files), as rgb24. */
export async function frameRgb(file: string, atSeconds: number): Promise<Frame> {
  const stream = (await probe(file)).streams.find((s) => s.codec_type === 'video');
  if (!stream?.width || !stream.height) throw new Error(`${file} has no video stream`);
  const { width, height } = stream;
  const args = ['-i', file, '-ss', String(atSeconds), '-frames:v', '1'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  const { stdout } = await run('ffmpeg', [...FFMPEG, ...args], { encoding: 'buffer', maxBuffer: MAX_BUFFER });
  if (stdout.length !== width * height * 3) throw new Error(`${file}: no frame at ${atSeconds} s`);
  return { data: stdout, width, height };
}

/** The mean colour of a region (the whole picture by default) of the frame at `atSeconds`. */
export async function meanColor(file: string, region?: Region, atSeconds = 0.5): Promise<Rgb> {
  return regionMean(await frameRgb(file, atSeconds), region);
}

export function regionMean(frame: Frame, region: Region = wholeFrame(frame)): Rgb {
  const sum = { r: 0, g: 0, b: 0 };
  forEachPixel(frame, region, (offset) => {
    sum.r += frame.data[offset]!;
    sum.g += frame.data[offset + 1]!;
    sum.b += frame.data[offset + 2]!;
  });
  const count = region.w * region.h;
  return { r: sum.r / count, g: sum.g / count, b: sum.b / count };
}

/** Mean absolute difference per channel value between two frames of one size, over a region. */
export function regionDifference(a: Frame, b: Frame, region: Region = wholeFrame(a)): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('frames differ in size');
  let sum = 0;
  forEachPixel(a, region, (offset) => {
    for (let channel = 0; channel < 3; channel++)
      sum += Math.abs(a.data[offset + channel]! - b.data[offset + channel]!);
  });
  return sum / (region.w * region.h * 3);
}

/** Mean over a region of how far each pixel is from grey: (|r - g| + |g - b| + |b - r|) / 3. */
export function regionChroma(frame: Frame, region: Region = wholeFrame(frame)): number {
  let sum = 0;
  forEachPixel(frame, region, (offset) => {
    const [r, g, b] = [frame.data[offset]!, frame.data[offset + 1]!, frame.data[offset + 2]!];
    sum += (Math.abs(r - g) + Math.abs(g - b) + Math.abs(b - r)) / 3;
  });
  return sum / (region.w * region.h);
}

/** The four quadrants of a picture, by name. */
export function quadrants(width: number, height: number): Record<string, Region> {
  const [w, h] = [Math.floor(width / 2), Math.floor(height / 2)];
  return {
    'top-left': { x: 0, y: 0, w, h },
    'top-right': { x: w, y: 0, w: width - w, h },
    'bottom-left': { x: 0, y: h, w, h: height - h },
    'bottom-right': { x: w, y: h, w: width - w, h: height - h },
  };
}

function wholeFrame(frame: Frame): Region {
  return { x: 0, y: 0, w: frame.width, h: frame.height };
}

function forEachPixel(frame: Frame, region: Region, visit: (offset: number) => void) {
  for (let y = region.y; y < region.y + region.h; y++)
    for (let x = region.x; x < region.x + region.w; x++) visit((y * frame.width + x) * 3);
}

/** A 3D `.cube` LUT of `size`³ entries from a function on r, g, b in 0..1. */
export async function writeCubeLut(
  path: string,
  transform: (r: number, g: number, b: number) => [number, number, number],
  size = 17,
): Promise<string> {
  const lines = ['TITLE "stagehooks test"', `LUT_3D_SIZE ${size}`];
  // .cube order: red changes fastest, then green, then blue.
  for (let b = 0; b < size; b++)
    for (let g = 0; g < size; g++)
      for (let r = 0; r < size; r++) {
        const out = transform(r / (size - 1), g / (size - 1), b / (size - 1));
        lines.push(out.map((value) => Math.min(1, Math.max(0, value)).toFixed(6)).join(' '));
      }
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** A PNG of one colour (any ffmpeg colour, e.g. `red`, `0x00ff00@0.5`). */
export async function makeImage(
  path: string,
  { width = 64, height = 32, color = 'red' }: { width?: number; height?: number; color?: string } = {},
): Promise<string> {
  await ffmpeg(['-y', '-f', 'lavfi', '-i', `color=c=${color}:s=${width}x${height}`, '-frames:v', '1', path]);
  return path;
}

/**
 * The files the catalog's examples refer to through `${MEDIA_DIR}`: `segment.mp4` (3 s, 320x240, 24 fps,
 * a -23 LUFS tone), `look.cube` (a warm look) and `logo.png` (64x32).
 */
export async function makeExampleMedia(dir: string): Promise<{ segment: string; lut: string; logo: string }> {
  const [segment, lut, logo] = await Promise.all([
    makeClip(dir, { name: 'segment.mp4', lufs: -23 }),
    writeCubeLut(join(dir, 'look.cube'), (r, g, b) => [r * 1.1, g, b * 0.9]),
    makeImage(join(dir, 'logo.png'), { color: 'white' }),
  ]);
  return { segment, lut, logo };
}
