import {
  applyPatch,
  checkedOutput,
  DATA_LIMIT_BYTES,
  flowBytes,
  type HookRunResult,
  PATCH_LIMIT_BYTES,
  STAGE_FLOW_LIMIT_BYTES,
  stageFlowOverMessage,
} from '@stagehooks/core/domain';
import { hookResult } from '@test/results';
import { describe, expect, it } from 'vitest';

const passed = (extra: Partial<HookRunResult>) => hookResult({ status: 'passed', exitCode: 0, ...extra });
/** `{"pad":"xxx"}` of exactly `bytes` bytes as JSON. */
const dataOf = (bytes: number) => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });
/** `{"metadata":{"pad":"xxx"}}` of exactly `bytes` bytes as JSON. */
const patchOf = (bytes: number) => ({
  metadata: { pad: 'x'.repeat(bytes - '{"metadata":{"pad":""}}'.length) },
});

describe('checkedOutput', () => {
  it('passes data and a patch of exactly 8 KiB each, and fails one byte more, naming the bound', () => {
    // Prepare
    expect(JSON.stringify(dataOf(DATA_LIMIT_BYTES))).toHaveLength(8192);
    expect(JSON.stringify(patchOf(PATCH_LIMIT_BYTES))).toHaveLength(8192);

    // Act
    const within = checkedOutput(passed({ data: dataOf(8192), patch: patchOf(8192) }), undefined);
    const dataOver = checkedOutput(passed({ data: dataOf(8193) }), undefined);
    const patchOver = checkedOutput(passed({ patch: patchOf(8193) }), undefined);

    // Assess
    expect(within).toMatchObject({ status: 'passed', data: dataOf(8192), patch: patchOf(8192) });
    expect(dataOver).toMatchObject({
      status: 'failed',
      errorMessage: "data is 8193 bytes as JSON, over the 8 KiB bound on a hook's data",
      // kept for the log
      data: dataOf(8193),
    });
    expect(patchOver).toMatchObject({
      status: 'failed',
      errorMessage: "patch is 8193 bytes as JSON, over the 8 KiB bound on a hook's patch",
    });
    expect(patchOver).not.toHaveProperty('patch');
  });

  it('counts bytes in UTF-8, as Step Functions does', () => {
    const data = { pad: 'é'.repeat(4092) }; // 10 + 2 x 4092 = 8194 bytes, 4102 characters
    expect(checkedOutput(passed({ data }), undefined).status).toBe('failed');
  });

  it.each([
    [5, 'a number'],
    [[1], 'an array'],
    [null, 'null'],
    ['text', 'a string'],
  ])('fails data that is not an object (%j), saying what it is', (data, kind) => {
    const checked = checkedOutput(passed({ data }), undefined);
    expect(checked).toMatchObject({
      status: 'failed',
      errorMessage: `data must be a JSON object, not ${kind}`,
    });
    expect(checked).not.toHaveProperty('data');
  });

  it('fails a patch with a key it does not know, or a field of the wrong kind, naming them', () => {
    expect(
      checkedOutput(passed({ patch: { segmentPath: '/a.mp4', segment: '/b.mp4' } }), undefined),
    ).toMatchObject({
      status: 'failed',
      errorMessage: 'patch.segment: not a patch field (segmentPath, metadata)',
    });
    expect(checkedOutput(passed({ patch: { metadata: [1] } }), undefined)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringMatching(/^patch\.metadata: /),
    });
    expect(checkedOutput(passed({ patch: 'x' }), undefined).errorMessage).toBe(
      'patch must be a JSON object, not a string',
    );
  });

  it('fails data that does not match the outputSchema, naming the path', () => {
    const schema = {
      type: 'object',
      properties: { size: { type: 'object', properties: { w: { type: 'integer' } } } },
    };
    expect(checkedOutput(passed({ data: { size: { w: 1.5 } } }), schema)).toMatchObject({
      status: 'failed',
      errorMessage: 'data does not match outputSchema: data.size.w: must be integer',
    });
    expect(checkedOutput(passed({ data: { size: { w: 2 } } }), schema).status).toBe('passed');
  });

  it('leaves a failed result failed, with its own error, and keeps its data for the log', () => {
    const failed = hookResult({ status: 'failed', exitCode: 2, errorMessage: 'exited 2', data: 5 });
    expect(checkedOutput(failed, undefined)).toMatchObject({ status: 'failed', errorMessage: 'exited 2' });
    const withData = hookResult({ status: 'timed_out', exitCode: null, data: { partial: true } });
    expect(checkedOutput(withData, undefined)).toMatchObject({
      status: 'timed_out',
      data: { partial: true },
    });
  });

  it('returns a result with no data and no patch as it is', () => {
    const result = passed({});
    expect(checkedOutput(result, { type: 'object', required: ['x'] })).toBe(result);
  });
});

describe('applyPatch', () => {
  it('replaces the segment and merges the metadata, a null deleting a key, changing nothing given', () => {
    // Prepare
    const stage = { segmentPath: '/in.mp4', metadata: { fps: 24, draft: true, nested: { a: 1 } } };
    const patch = { segmentPath: '/out.mp4', metadata: { draft: null, nested: { b: 2 } } };
    const before = JSON.stringify([stage, patch]);

    // Act
    const patched = applyPatch(stage, patch);

    // Assess
    expect(patched).toStrictEqual({ segmentPath: '/out.mp4', metadata: { fps: 24, nested: { a: 1, b: 2 } } });
    expect(JSON.stringify([stage, patch])).toBe(before);
    expect(applyPatch(stage, {})).toStrictEqual(stage);
  });
});

describe('the stage bound', () => {
  it('counts data and patch as JSON, and names the bound when over it', () => {
    expect(flowBytes({ a: 1 }, { metadata: {} })).toBe(7 + 15);
    expect(flowBytes(undefined, undefined)).toBe(0);
    expect(stageFlowOverMessage(STAGE_FLOW_LIMIT_BYTES + 1)).toBe(
      "the stage's data and patches would be 65537 bytes as JSON, over the 64 KiB bound on a stage",
    );
  });
});
