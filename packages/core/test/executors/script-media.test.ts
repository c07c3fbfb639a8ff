import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookRunResult } from '@stagehooks/core/domain';
import { ProcessScriptRunner } from '@stagehooks/core/executors/script';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookInput, nobody, pythonFor, pythonHook } from './script-fixtures';

/** What the script reported, its last stdout line. */
const reported = (result: HookRunResult) => JSON.parse(result.stdout?.trim().split('\n').at(-1) ?? 'null');

// The media folders a studio's scripts read and the job output folder they write, in the sandbox and
// as another user, as the local stack (root) runs them. CI installs bubblewrap.
let scratch: string;
let mediaDir: string;
let outputRoot: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stagehooks-media-test-'));
  chmodSync(scratch, 0o755);
  mediaDir = join(scratch, 'media');
  outputRoot = join(scratch, 'media', 'out');
  mkdirSync(mediaDir, { mode: 0o755 });
  writeFileSync(join(mediaDir, 'segment.txt'), 'frames', { mode: 0o644 });
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const copyIntoOutput = pythonHook({
  script: [
    'import json, os',
    'out = os.environ.get("STAGEHOOKS_OUTPUT_DIR")',
    'dirs = os.environ.get("STAGEHOOKS_MEDIA_DIRS")',
    'report = {"out": out, "dirs": dirs, "wroteMedia": False}',
    'if out:',
    '    media = dirs.split(":")[0]',
    '    with open(os.path.join(media, "segment.txt")) as f: text = f.read()',
    '    with open(os.path.join(out, "graded.txt"), "w") as f: f.write(text + " graded")',
    '    try:',
    '        open(os.path.join(media, "intruder.txt"), "w").close()',
    '        report["wroteMedia"] = True',
    '    except OSError:',
    '        pass',
    'print(json.dumps(report))',
  ].join('\n'),
});

describe.each([
  ['in the sandbox, as nobody', { sandbox: 'bubblewrap' as const, runAs: nobody }],
  ['unsandboxed, as nobody', { sandbox: 'none' as const, runAs: nobody, python: pythonFor(nobody) }],
])('a script with media, %s', (_name, options) => {
  it('reads the media folders and writes only its job’s output folder, at the paths the host sees', async () => {
    // Arrange
    const runner = new ProcessScriptRunner({ ...options, media: { dirs: [mediaDir], outputRoot } });

    // Act
    const result = await runner.run(copyIntoOutput, hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', errorMessage: null });
    const jobOutput = join(outputRoot, 'job-42');
    expect(reported(result)).toEqual({ out: jobOutput, dirs: mediaDir, wroteMedia: false });
    expect(readFileSync(join(jobOutput, 'graded.txt'), 'utf8')).toBe('frames graded');
    expect(statSync(join(jobOutput, 'graded.txt')).uid).toBe(nobody.uid);
    expect(existsSync(join(mediaDir, 'intruder.txt'))).toBe(false);
  });
});

describe('the sandbox, as another user', () => {
  it('reaches the system pieces of /etc: shared libraries behind /etc/alternatives (ffprobe) and CA certificates', async () => {
    // Arrange
    const runner = new ProcessScriptRunner({ sandbox: 'bubblewrap', runAs: nobody });
    const hook = pythonHook({
      script: [
        'import json, os, subprocess',
        'done = subprocess.run(["ffprobe", "-version"], capture_output=True, text=True)',
        'print(json.dumps({"ffprobe": done.returncode, "certs": os.access("/etc/ssl/certs", os.R_OK | os.X_OK)}))',
      ].join('\n'),
    });

    // Act
    const result = await runner.run(hook, hookInput);

    // Assess
    expect(reported(result)).toEqual({ ffprobe: 0, certs: true });
  });
});

describe('the job output folder', () => {
  it('is named by a digest for a job id that is not a plain name, never outside the output root', async () => {
    // Arrange
    const runner = new ProcessScriptRunner({
      sandbox: 'bubblewrap',
      media: { dirs: [mediaDir], outputRoot },
    });

    // Act
    const result = await runner.run(copyIntoOutput, { ...hookInput, jobId: '../../escape' });

    // Assess
    expect(result).toMatchObject({ status: 'passed', errorMessage: null });
    const { out } = reported(result) as { out: string };
    expect(out).toMatch(new RegExp(`^${outputRoot}/job-[0-9a-f]{32}$`));
    expect(existsSync(join(out, 'graded.txt'))).toBe(true);
    expect(existsSync(join(scratch, 'escape'))).toBe(false);
  });

  it('is not given without media: the script sees neither variable', async () => {
    // Act
    const result = await new ProcessScriptRunner({ sandbox: 'bubblewrap' }).run(copyIntoOutput, hookInput);

    // Assess
    expect(result).toMatchObject({ status: 'passed', errorMessage: null });
    expect(reported(result)).toEqual({ out: null, dirs: null, wroteMedia: false });
  });
});
