import type { StageEventDetail } from './stage-event';
import type { HookPoint } from './vocabulary';

export interface HookPointInfo {
  hookPoint: HookPoint;
  description: string;
  /** A realistic stage event for this point: what a test run sends when the admin gives no input. */
  sampleInput: StageEventDetail;
}

const base = {
  jobId: 'job-sample-0042',
  projectId: 'p-sample',
  sceneTypeId: 'st-dance',
  sceneContext: {
    title: 'Night market chase',
    mood: 'upbeat',
    characters: ['ava', 'li'],
    aspectRatio: '16:9',
  },
};

/** The five points of the media pipeline, in the order a job passes them. */
export const hookPointInfo: readonly HookPointInfo[] = [
  {
    hookPoint: 'post_variant',
    description: 'A variant (one candidate rendering of a scene) has been generated.',
    sampleInput: {
      ...base,
      hookPoint: 'post_variant',
      segmentPath: 's3://renders/job-sample-0042/variants/v3.mp4',
      metadata: {
        variantIndex: 3,
        variantsRequested: 4,
        model: 'gen-video-2',
        seed: 918273,
        durationSeconds: 6.2,
      },
    },
  },
  {
    hookPoint: 'pre_segment',
    description: 'A variant was chosen and is about to be cut into segments.',
    sampleInput: {
      ...base,
      hookPoint: 'pre_segment',
      segmentPath: 's3://renders/job-sample-0042/variants/v3.mp4',
      metadata: { chosenVariant: 3, plannedSegments: 4, frameRate: 24 },
    },
  },
  {
    hookPoint: 'post_segment',
    description: 'A segment has been rendered and written to storage.',
    sampleInput: {
      ...base,
      hookPoint: 'post_segment',
      segmentPath: 's3://renders/job-sample-0042/segments/seg-3.mp4',
      metadata: { segmentIndex: 3, frames: 96, frameRate: 24, resolution: '1920x1080', loudnessLufs: -16.4 },
    },
  },
  {
    hookPoint: 'pre_concatenation',
    description: 'All segments are ready and about to be joined into one video.',
    sampleInput: {
      ...base,
      hookPoint: 'pre_concatenation',
      segmentPath: 's3://renders/job-sample-0042/segments/',
      metadata: { segments: 4, totalFrames: 384, totalDurationSeconds: 16, loudnessLufs: -15.8 },
    },
  },
  {
    hookPoint: 'post_delivery',
    description: 'The final video has been delivered to the client.',
    sampleInput: {
      ...base,
      hookPoint: 'post_delivery',
      segmentPath: 's3://deliveries/job-sample-0042/final.mp4',
      metadata: {
        deliveredTo: 'client-portal',
        sizeBytes: 48_211_344,
        checksum: 'sha256:9f2c…',
        flagged: false,
      },
    },
  },
];

export function sampleInputOf(hookPoint: HookPoint): StageEventDetail {
  const info = hookPointInfo.find((p) => p.hookPoint === hookPoint);
  if (!info) throw new Error(`no sample for ${hookPoint}`);
  return structuredClone(info.sampleInput);
}
