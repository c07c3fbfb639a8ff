import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoHooks } from '@stagehooks/local/demo';
import { applyHooks, parseHooksFile } from '@stagehooks/local/hooks-file';
import { adminApiClient } from '@test/admin-api';
import { startTestStack, type TestStack } from '@test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ADMIN = 'admin-token-for-the-lock-tests';
const EDITOR = 'editor-token-for-the-lock-tests';

let t: TestStack;

beforeAll(async () => {
  const home = await mkdtemp(join(tmpdir(), 'stagehooks-locks-'));
  await writeFile(
    join(home, 'tokens.json'),
    JSON.stringify({ tokens: [{ token: EDITOR, role: 'editor', actor: 'erin' }] }),
  );
  t = await startTestStack({ STAGEHOOKS_ADMIN_TOKEN: ADMIN }, home);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const call = adminApiClient(() => t.stack.endpoints.api, '');
const api = (method: string, path: string, token: string, body?: unknown) =>
  call(method, path, { token, body });

/** Like the demo's content policy: fails a delivery whose metadata names it (`block: <name>`). */
const contentPolicy = (fields: Record<string, unknown> = {}) => {
  const name = (fields.name as string | undefined) ?? 'content_policy';
  return {
    name,
    type: 'shell',
    hookPoint: 'post_delivery',
    scopeType: 'studio',
    failureMode: 'block',
    config: {
      script: `input=$(cat); case "$input" in *'"block":"${name}"'*) echo flagged; exit 1 ;; esac`,
    },
    ...fields,
  };
};

const replaceBody = (hook: Record<string, unknown>, changes: Record<string, unknown> = {}) => {
  const { id: _id, createdAt: _c, createdBy: _b, updatedAt: _u, ...fields } = hook;
  return { ...fields, ...changes };
};

const effective = async (path: string, name: string) =>
  (await api('GET', `/hooks/effective/${path}`, EDITOR)).body.items.find(
    (e: { hook: { name: string } }) => e.hook.name === name,
  );

describe('a studio block gate stays shut', () => {
  it('refuses an editor’s disabled override (403 naming the gate); the stage still blocks for a review only an admin decides', async () => {
    // Prepare: the studio's gate, created by an admin without saying locked
    const gate = await api('POST', '/hooks', ADMIN, contentPolicy());
    expect(gate.status).toBe(201);
    expect(gate.body).toMatchObject({ locked: true, lockOverride: false });

    // Act: the editor switches it off for a project, then tries a scene type
    const atProject = await api(
      'POST',
      '/hooks',
      EDITOR,
      contentPolicy({ scopeType: 'project', scopeId: 'p-lock', enabled: false }),
    );
    const atSceneType = await api(
      'POST',
      '/hooks',
      EDITOR,
      contentPolicy({ scopeType: 'scene_type', scopeId: 'st-lock', enabled: false }),
    );
    await t.emit({
      hookPoint: 'post_delivery',
      jobId: 'job-lock',
      projectId: 'p-lock',
      sceneTypeId: 'st-lock',
      metadata: { block: 'content_policy' },
    });
    const blocked = await t.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-lock',
    );

    // Assess
    for (const refused of [atProject, atSceneType]) {
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({
        status: 403,
        lockedHook: { id: gate.body.id, name: 'content_policy', scopeType: 'studio', scopeId: null },
      });
      expect(refused.body.detail).toContain(`content_policy at studio (hook ${gate.body.id}) is locked`);
    }
    expect(blocked.detail).toMatchObject({ name: 'content_policy', hookId: gate.body.id });
    const reviewId = String(blocked.detail.reviewId);
    const open = await api('GET', '/reviews?status=open', EDITOR);
    expect(open.body.items.map((r: { id: string }) => r.id)).toContain(reviewId);
    expect((await api('POST', `/reviews/${reviewId}/decision`, EDITOR, { decision: 'approve' })).status).toBe(
      403,
    );
    await api('POST', `/reviews/${reviewId}/decision`, ADMIN, { decision: 'reject' });
    expect((await t.receiver.verdict('job-lock', 'post_delivery')).detail).toMatchObject({
      verdict: 'blocked',
    });
    expect(await effective('project/p-lock?hookPoint=post_delivery', 'content_policy')).toMatchObject({
      hook: { id: gate.body.id, locked: true },
      inherited: true,
      refused: [],
    });
  });

  it('keeps the review of a locked project gate an admin’s to decide', async () => {
    // Prepare: an admin's locked block hook at a project (editors may decide an unlocked one's reviews)
    const gate = await api(
      'POST',
      '/hooks',
      ADMIN,
      contentPolicy({ name: 'project_gate', scopeType: 'project', scopeId: 'p-gate', locked: true }),
    );
    expect(gate.body).toMatchObject({ locked: true });

    // Act
    await t.emit({
      hookPoint: 'post_delivery',
      jobId: 'job-gate',
      projectId: 'p-gate',
      metadata: { block: 'project_gate' },
    });
    const blocked = await t.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-gate',
    );
    const reviewId = String(blocked.detail.reviewId);
    const byEditor = await api('POST', `/reviews/${reviewId}/decision`, EDITOR, { decision: 'approve' });
    const byAdmin = await api('POST', `/reviews/${reviewId}/decision`, ADMIN, { decision: 'reject' });

    // Assess
    expect(byEditor.status).toBe(403);
    expect(byEditor.body).toMatchObject({ lockedHook: { id: gate.body.id, name: 'project_gate' } });
    expect(byEditor.body.detail).toContain('only an admin may decide its reviews');
    expect(byAdmin.status).toBe(200);
    expect((await t.receiver.verdict('job-gate', 'post_delivery')).detail).toMatchObject({
      verdict: 'blocked',
    });
  });

  it('keeps a lock added after an editor’s override: the override is refused and the view says why', async () => {
    // Prepare: an unlocked studio gate, masked by an editor at a project while that was allowed
    const gate = await api('POST', '/hooks', ADMIN, contentPolicy({ name: 'late_gate', locked: false }));
    const masking = await api(
      'POST',
      '/hooks',
      EDITOR,
      contentPolicy({ name: 'late_gate', scopeType: 'project', scopeId: 'p-late', enabled: false }),
    );
    expect([gate.status, masking.status]).toEqual([201, 201]);
    expect(await effective('project/p-late?hookPoint=post_delivery', 'late_gate')).toBeUndefined();

    // Act: an admin locks the gate; the editor tries to change the override
    const locked = await api(
      'PUT',
      `/hooks/${gate.body.id}`,
      ADMIN,
      replaceBody(gate.body, { locked: true }),
    );
    const edit = await api(
      'PUT',
      `/hooks/${masking.body.id}`,
      EDITOR,
      replaceBody(masking.body, { description: 'still off' }),
    );
    await t.emit({
      hookPoint: 'post_delivery',
      jobId: 'job-late',
      projectId: 'p-late',
      metadata: { block: 'late_gate' },
    });
    const blocked = await t.receiver.waitFor(
      (e) => e['detail-type'] === 'Stage Hooks Blocked' && e.detail.jobId === 'job-late',
    );

    // Assess
    expect(locked.body).toMatchObject({ revision: 2, locked: true });
    expect(edit.status).toBe(403);
    expect(blocked.detail).toMatchObject({ name: 'late_gate', hookId: gate.body.id });
    expect(await effective('project/p-late?hookPoint=post_delivery', 'late_gate')).toMatchObject({
      hook: { id: gate.body.id, locked: true },
      refused: [
        {
          scopeType: 'project',
          scopeId: 'p-late',
          hookId: masking.body.id,
          enabled: false,
          lockedHookId: gate.body.id,
          reason: expect.stringContaining(
            'is locked: only a hook with lockOverride, set by an admin, may mask it',
          ),
        },
      ],
    });
    const audit = await api('GET', `/hooks/${gate.body.id}/audit`, EDITOR);
    expect(
      audit.body.items.map(
        (e: { actor: string; before: { locked: boolean } | null; after: { locked: boolean } }) => [
          e.actor,
          e.before?.locked ?? null,
          e.after.locked,
        ],
      ),
    ).toEqual([
      ['local-admin', false, true],
      ['local-admin', null, false],
    ]);
    await api('POST', `/reviews/${String(blocked.detail.reviewId)}/decision`, ADMIN, { decision: 'reject' });
    await t.receiver.verdict('job-late', 'post_delivery');
  });

  it('lets an admin override a lock, saying so with lockOverride; the override is then the admin’s', async () => {
    // Prepare
    const gate = await api('POST', '/hooks', ADMIN, contentPolicy({ name: 'admin_gate' }));
    const override = contentPolicy({
      name: 'admin_gate',
      scopeType: 'project',
      scopeId: 'p-admin',
      enabled: false,
    });

    // Act
    const unsaid = await api('POST', '/hooks', ADMIN, override);
    const said = await api('POST', '/hooks', ADMIN, { ...override, lockOverride: true });
    const editorChange = await api(
      'PUT',
      `/hooks/${said.body.id}`,
      EDITOR,
      replaceBody(said.body, { enabled: true }),
    );
    const editorDelete = await api('DELETE', `/hooks/${said.body.id}`, EDITOR);
    await t.emit({
      hookPoint: 'post_delivery',
      jobId: 'job-admin',
      projectId: 'p-admin',
      metadata: { block: 'admin_gate' },
    });
    const verdict = await t.receiver.verdict('job-admin', 'post_delivery');

    // Assess
    expect(unsaid.status).toBe(400);
    expect(unsaid.body.errors).toEqual([
      {
        path: 'lockOverride',
        message: `must be true to override or mask admin_gate at studio (hook ${gate.body.id}), which is locked`,
      },
    ]);
    expect(said.status).toBe(201);
    expect(editorChange.status).toBe(403);
    expect(editorDelete.status).toBe(403);
    expect(verdict.detail).toMatchObject({ verdict: 'passed' });
    expect((verdict.detail.results as Array<{ name: string }>).map((r) => r.name)).not.toContain(
      'admin_gate',
    );
  });

  it('keeps locked and lockOverride an admin’s to set, and a locked project hook an admin’s to change', async () => {
    const project = { scopeType: 'project', scopeId: 'p-own', failureMode: 'warn' };
    const setLock = await api(
      'POST',
      '/hooks',
      EDITOR,
      contentPolicy({ ...project, name: 'own', locked: true }),
    );
    const setOverride = await api(
      'POST',
      '/hooks',
      EDITOR,
      contentPolicy({ ...project, name: 'own', lockOverride: true }),
    );
    const mine = await api('POST', '/hooks', EDITOR, contentPolicy({ ...project, name: 'own' }));
    const lockMine = await api(
      'PUT',
      `/hooks/${mine.body.id}`,
      EDITOR,
      replaceBody(mine.body, { locked: true }),
    );
    const roundTrip = await api(
      'PUT',
      `/hooks/${mine.body.id}`,
      EDITOR,
      replaceBody(mine.body, { sortOrder: 7 }),
    );
    const lockedByAdmin = await api(
      'PUT',
      `/hooks/${mine.body.id}`,
      ADMIN,
      replaceBody(roundTrip.body, { locked: true }),
    );
    const afterLock = await api(
      'PUT',
      `/hooks/${mine.body.id}`,
      EDITOR,
      replaceBody(lockedByAdmin.body, { sortOrder: 8 }),
    );

    expect([setLock.status, setOverride.status, mine.status, lockMine.status]).toEqual([403, 403, 201, 403]);
    expect(setLock.body.detail).toBe('erin may not set or clear locked: that needs an admin');
    expect(roundTrip.status).toBe(200);
    expect(lockedByAdmin.body).toMatchObject({ locked: true });
    expect(afterLock.status).toBe(403);
    expect(afterLock.body).toMatchObject({ lockedHook: { id: mine.body.id, scopeType: 'project' } });
  });
});

describe('hooks apply and the demo', () => {
  it('lock a studio gate by default, keep it on a second apply, and follow a file that says locked', async () => {
    // Prepare
    const gate = { ...contentPolicy({ name: 'file_gate' }), hookPoint: 'post_variant' };
    const apply = (entry: Record<string, unknown>) =>
      applyHooks(t.stack.registry, parseHooksFile(JSON.stringify([entry])), 'ci');

    // Act
    const [created] = await apply(gate);
    const [again] = await apply(gate);
    const [unlocked] = await apply({ ...gate, locked: false });

    // Assess
    expect(created).toMatchObject({ action: 'created', hook: { locked: true } });
    expect(again).toMatchObject({ action: 'unchanged' });
    expect(unlocked).toMatchObject({ action: 'updated', hook: { revision: 2, locked: false } });
    const demo = parseHooksFile(JSON.stringify(demoHooks('http://127.0.0.1:1')));
    expect(demo.filter((h) => h.locked).map((h) => `${h.name}@${h.scopeType}`)).toEqual([
      'content_policy@studio',
    ]);
  });
});
