import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { HookCreateInput, HookPoint } from '@stagehooks/core/domain';
import {
  hookPoints,
  stageBlockedDetailType,
  stageDetachedCompletedDetailType,
  stageEventSource,
  stagehooksBusName,
  stagehooksEventSource,
  stageReachedDetailType,
} from '@stagehooks/core/domain';
import type {
  StageCompletedDetail,
  StageDetachedCompletedDetail,
  StageResult,
} from '@stagehooks/core/engine';
import { listen } from '../aws-endpoint';
import { formatDuration, formatTable } from '../cli/table';
import { applyHooks, parseHooksFile } from '../hooks-file';
import type { LocalStack } from '../stack';

export const DEMO_PROJECT = 'demo-project';
export const DEMO_SCENE_TYPE = 'demo-dance';

/** The built-in webhook target of the demo hooks: answers like a render-farm notifier would. */
export async function startDemoReceiver(port: number): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'passed', message: `render farm notified (${request.url})` }));
    });
  });
  await listen(server, port);
  return { url: `http://127.0.0.1:${port}`, server };
}

/** Measures the segment and hands on what it found: data for the hooks after it, a metadata patch. */
const MEASURE = `import json, sys
stage = json.load(sys.stdin)
frames = stage["metadata"].get("frames", 0)
fps = stage["metadata"].get("fps", 24)
found = {"frames": frames, "durationSeconds": round(frames / fps, 3), "resolution": "1080p"}
print(json.dumps({"message": f"{frames} frames at {fps} fps", "data": found,
                  "patch": {"metadata": {"measured": True}}}))
`;

/** Uses what measure_segment handed on (\`outputs.measure_segment\`) rather than measuring again. */
const FRAME_BUDGET = `import json, sys
stage = json.load(sys.stdin)
frames = stage["outputs"].get("measure_segment", {}).get("frames", 0)
budget = 480
print(json.dumps({"status": "passed" if frames <= budget else "failed",
                  "message": f"{frames} of {budget} frames (measured by measure_segment)",
                  "data": {"frames": frames, "budget": budget}}))
`;

const LOUDNESS = `import json, sys
stage = json.load(sys.stdin)
lufs = stage["metadata"].get("loudnessLufs", -16)
ok = lufs <= -14
print(json.dumps({"status": "passed" if ok else "failed", "message": f"integrated loudness {lufs} LUFS"}))
`;

/** Fails on a marked input: `"metadata": { "flagged": true }` stops the pipeline for review. */
const CONTENT_POLICY = `input=$(cat)
case "$input" in
  *'"flagged":true'*) echo '{"status":"failed","message":"flagged for content review"}'; exit 1 ;;
esac
echo '{"status":"passed","message":"no content policy issue"}'
`;

export function demoHooks(receiverUrl: string): HookCreateInput[] {
  const notify = (hookPoint: HookPoint): HookCreateInput => ({
    name: 'notify_render_farm',
    description: 'studio: tell the render farm a stage was reached',
    type: 'webhook',
    hookPoint,
    scopeType: 'studio',
    sortOrder: 10,
    config: { url: `${receiverUrl}/studio/${hookPoint}` },
  });
  return [
    ...hookPoints.map(notify),
    {
      name: 'notify_render_farm',
      description: 'project override: this project has its own render queue',
      type: 'webhook',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: DEMO_PROJECT,
      sortOrder: 10,
      config: { url: `${receiverUrl}/projects/${DEMO_PROJECT}/segments` },
    },
    {
      name: 'measure_segment',
      description: 'project: measures the segment and hands its findings to the hooks after it',
      type: 'python',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: DEMO_PROJECT,
      sortOrder: 15,
      outputSchema: {
        type: 'object',
        required: ['frames', 'resolution'],
        properties: { frames: { type: 'integer', minimum: 0 }, resolution: { type: 'string' } },
      },
      config: { script: MEASURE, timeoutSeconds: 10 },
    },
    {
      name: 'check_frame_budget',
      description: 'scene type: dance scenes must stay within the frame budget',
      type: 'python',
      hookPoint: 'post_segment',
      scopeType: 'scene_type',
      scopeId: DEMO_SCENE_TYPE,
      sortOrder: 20,
      config: { script: FRAME_BUDGET, timeoutSeconds: 10 },
    },
    {
      name: 'upscale_check_4k',
      description: 'project: only 4K segments need the upscale check (skipped for the demo 1080p one)',
      type: 'shell',
      hookPoint: 'post_segment',
      scopeType: 'project',
      scopeId: DEMO_PROJECT,
      sortOrder: 30,
      when: { outputs: { measure_segment: { resolution: ['4k', '2160p'] } } },
      config: { script: 'echo "checking the upscale of a 4K segment"', timeoutSeconds: 10 },
    },
    {
      name: 'loudness_check',
      description: 'project: loudness must be at most -14 LUFS before concatenation',
      type: 'python',
      hookPoint: 'pre_concatenation',
      scopeType: 'project',
      scopeId: DEMO_PROJECT,
      sortOrder: 20,
      failureMode: 'warn',
      config: { script: LOUDNESS, timeoutSeconds: 10 },
    },
    {
      name: 'content_policy',
      description: 'studio: a flagged delivery waits for a human',
      type: 'shell',
      hookPoint: 'post_delivery',
      scopeType: 'studio',
      sortOrder: 20,
      failureMode: 'block',
      // A gate: no project or scene type may switch it off (the default for a studio block hook).
      locked: true,
      config: { script: CONTENT_POLICY, timeoutSeconds: 10 },
    },
    {
      name: 'cdn_purge',
      description: 'studio: tells the CDN about the delivery; the pipeline does not wait for it',
      type: 'webhook',
      hookPoint: 'post_delivery',
      scopeType: 'studio',
      sortOrder: 30,
      mode: 'detached',
      failureMode: 'ignore',
      config: { url: `${receiverUrl}/cdn/purge` },
    },
  ];
}

/** Registers the demo hooks (idempotently) and takes one demo job through all five stages, printing each verdict. */
export async function runDemo(stack: LocalStack, receiverUrl: string, print: (text: string) => void) {
  const applied = await applyHooks(
    stack.registry,
    parseHooksFile(JSON.stringify(demoHooks(receiverUrl)), 'demo hooks'),
    'demo',
  );
  print(
    `demo hooks: ${applied.filter((a) => a.action === 'created').length} registered, ${applied.filter((a) => a.action !== 'created').length} already there`,
  );
  const jobId = `demo-job-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
  print(
    `demo job ${jobId} (project ${DEMO_PROJECT}, scene type ${DEMO_SCENE_TYPE}) through all five stages:\n`,
  );
  const detached = detachedReports(stack, jobId);
  for (const hookPoint of hookPoints) {
    const completion = await emitAndWait(stack, {
      hookPoint,
      jobId,
      projectId: DEMO_PROJECT,
      sceneTypeId: DEMO_SCENE_TYPE,
      segmentPath: `s3://renders/${jobId}/seg-1.mp4`,
      metadata: { loudnessLufs: -16, frames: 240 },
      sceneContext: { mood: 'upbeat' },
    });
    print(formatStage(hookPoint, completion));
  }
  // The detached hooks ran after their verdicts; their report follows.
  for (const report of await detached.settled(demoDetachedStages)) {
    print(`${report.hookPoint}, after the verdict:\n${resultTable(report.results)}\n`);
  }
  await writeFile(
    join(stack.config.home, 'demo.json'),
    JSON.stringify({ jobId, ranAt: new Date().toISOString() }),
  );
}

/** The stages of the demo job that have a detached hook (cdn_purge). */
const demoDetachedStages = 1;

/** Collects the "Stage Hooks Detached Completed" reports of `jobId` from now on. */
function detachedReports(stack: LocalStack, jobId: string) {
  const reports: StageDetachedCompletedDetail[] = [];
  const unsubscribe = stack.bus.subscribe((event) => {
    if (event['detail-type'] === stageDetachedCompletedDetailType && event.detail.jobId === jobId)
      reports.push(event.detail as unknown as StageDetachedCompletedDetail);
  });
  return {
    /** The reports once `count` have come, or whatever came within `timeoutMs`. */
    async settled(count: number, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (reports.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      unsubscribe();
      return reports;
    },
  };
}

export const demoAlreadyRan = (home: string) => existsSync(join(home, 'demo.json'));

/** Puts a stage event on the bus and waits for its verdict (or the block that holds it). */
export function emitAndWait(
  stack: LocalStack,
  detail: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<StageCompletedDetail | { blocked: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(
        new Error(
          `no verdict for ${String(detail.jobId)} ${String(detail.hookPoint)} within ${timeoutMs / 1000} s`,
        ),
      );
    }, timeoutMs);
    const unsubscribe = stack.bus.subscribe((event) => {
      const d = event.detail;
      if (
        d.jobId !== detail.jobId ||
        d.hookPoint !== detail.hookPoint ||
        event.source !== stagehooksEventSource
      )
        return;
      clearTimeout(timer);
      unsubscribe();
      resolve(
        event['detail-type'] === stageBlockedDetailType
          ? { blocked: d }
          : (d as unknown as StageCompletedDetail),
      );
    });
    stack.bus
      .putEvents([
        {
          Source: stageEventSource,
          DetailType: stageReachedDetailType,
          EventBusName: stagehooksBusName,
          Detail: JSON.stringify(detail),
        },
      ])
      .catch(reject);
  });
}

export function formatStage(
  hookPoint: string,
  completion: StageCompletedDetail | { blocked: Record<string, unknown> },
  detached: StageResult[] = [],
): string {
  if ('blocked' in completion) {
    return `${hookPoint}: BLOCKED by ${String(completion.blocked.name)} (${String(completion.blocked.errorMessage)}); review ${String(completion.blocked.reviewId)} awaits a decision\n`;
  }
  const table = resultTable(completion.results);
  const lines = [
    `${hookPoint}: ${completion.verdict.toUpperCase()}${completion.review ? ` (review: ${completion.review.decision} by ${completion.review.by})` : ''}`,
    table,
  ];
  const outputs = Object.entries(completion.outputs ?? {});
  if (outputs.length > 0)
    lines.push(
      formatTable(
        outputs.map(([hook, data]) => ({ hook, outputs: shortJson(data) })),
        ['hook', 'outputs'],
      ),
    );
  const patches = completion.patches ?? [];
  if (patches.length > 0) {
    lines.push(
      formatTable(
        patches.map((p) => ({ hook: p.name, patch: shortJson(p.patch) })),
        ['hook', 'patch'],
      ),
    );
    if (patches.some((p) => p.patch.segmentPath !== undefined) && completion.stage?.segmentPath)
      lines.push(`segmentPath now ${completion.stage.segmentPath}`);
  }
  if (detached.length > 0) lines.push('detached, after the verdict:', resultTable(detached));
  return `${lines.join('\n')}\n`;
}

function resultTable(results: StageResult[]): string {
  const rows = results.map((r) => ({
    hook: r.name,
    status: r.status,
    outcome: r.outcome,
    duration: formatDuration(r.durationMs),
  }));
  return rows.length > 0 ? formatTable(rows, ['hook', 'status', 'outcome', 'duration']) : '(no hooks)';
}

/** JSON on one line, cut to fit a terminal row. */
function shortJson(value: unknown, max = 96): string {
  const text = JSON.stringify(value);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
