import { ValidationError } from '@stagehooks/core/errors';
import { describe, expect, it } from 'vitest';
import { loadFunctionsConfig, loadScriptRunnerConfig } from '../src/config';

const base = { STAGEHOOKS_TABLE: 'stagehooks-prod', AWS_REGION: 'eu-west-1' };

function validationErrorOf(load: () => unknown): ValidationError {
  try {
    load();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('loadFunctionsConfig', () => {
  it('applies the defaults', () => {
    // Act
    const config = loadFunctionsConfig(base);

    // Assess
    expect(config).toEqual({
      tableName: 'stagehooks-prod',
      logRetentionDays: 30,
      eventBusName: 'stagehooks',
      webhookAllow: [],
      scriptBucket: null,
      scriptQueueUrl: null,
      region: 'eu-west-1',
    });
  });

  it('reads every variable, and treats an empty one as unset', () => {
    // Prepare
    const env = {
      ...base,
      STAGEHOOKS_LOG_RETENTION_DAYS: '90',
      STAGEHOOKS_EVENT_BUS: 'arn:aws:events:eu-west-1:123456789012:event-bus/stagehooks',
      STAGEHOOKS_WEBHOOK_ALLOW: ' hooks.internal:8443, 10.0.0.0/8 ',
      STAGEHOOKS_SCRIPT_BUCKET: 'studio-hook-scripts',
      STAGEHOOKS_SCRIPT_QUEUE_URL: '',
    };

    // Act
    const config = loadFunctionsConfig(env);

    // Assess
    expect(config).toMatchObject({
      logRetentionDays: 90,
      eventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/stagehooks',
      webhookAllow: ['hooks.internal:8443', '10.0.0.0/8'],
      scriptBucket: 'studio-hook-scripts',
      scriptQueueUrl: null,
    });
  });

  it('names every bad variable and the reason in one error', () => {
    // Prepare
    const env = {
      AWS_REGION: 'moon-base',
      STAGEHOOKS_LOG_RETENTION_DAYS: 'forever',
      STAGEHOOKS_WEBHOOK_ALLOW: 'hooks.internal,10.0.0.0/99',
      STAGEHOOKS_SCRIPT_BUCKET: 'Not_A_Bucket',
      STAGEHOOKS_SCRIPT_QUEUE_URL: 'sqs-queue',
    };

    // Act
    const error = validationErrorOf(() => loadFunctionsConfig(env));

    // Assess
    expect(error.subject).toBe('environment');
    expect(error.issues).toEqual([
      { path: 'STAGEHOOKS_TABLE', message: 'is required' },
      { path: 'STAGEHOOKS_LOG_RETENTION_DAYS', message: 'must be a whole number of days from 1 to 3650' },
      { path: 'STAGEHOOKS_WEBHOOK_ALLOW', message: '"10.0.0.0/99" is not a host, host:port pair or CIDR' },
      {
        path: 'STAGEHOOKS_SCRIPT_BUCKET',
        message: 'must be an S3 bucket name (3-63 lower-case letters, digits, "." or "-")',
      },
      { path: 'STAGEHOOKS_SCRIPT_QUEUE_URL', message: 'must be an SQS queue URL (https://sqs.<region>...)' },
      { path: 'AWS_REGION', message: 'must be an AWS region such as us-east-1' },
    ]);
    expect(error.message).toContain('STAGEHOOKS_TABLE: is required');
  });

  it('counts an empty required variable as missing', () => {
    // Act
    const error = validationErrorOf(() => loadFunctionsConfig({ ...base, STAGEHOOKS_TABLE: '' }));

    // Assess
    expect(error.issues).toEqual([{ path: 'STAGEHOOKS_TABLE', message: 'is required' }]);
  });

  it.each([
    ['0', 'below the minimum'],
    ['3651', 'above the maximum'],
    ['7.5', 'not whole'],
  ])('refuses a retention of %s days (%s)', (days) => {
    // Act
    const error = validationErrorOf(() =>
      loadFunctionsConfig({ ...base, STAGEHOOKS_LOG_RETENTION_DAYS: days }),
    );

    // Assess
    expect(error.issues).toEqual([
      { path: 'STAGEHOOKS_LOG_RETENTION_DAYS', message: 'must be a whole number of days from 1 to 3650' },
    ]);
  });
});

describe('loadScriptRunnerConfig', () => {
  const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/stagehooks-scripts';

  it('is in task mode when Step Functions passed a token and a job', () => {
    // Act
    const config = loadScriptRunnerConfig({
      ...base,
      STAGEHOOKS_TASK_TOKEN: 'token-1',
      STAGEHOOKS_JOB: '{}',
    });

    // Assess
    expect(config.runner).toEqual({ mode: 'task', taskToken: 'token-1', job: '{}' });
    expect(config.stopGraceMs).toBe(25_000);
  });

  it('is in pool mode otherwise, with its concurrency', () => {
    // Act
    const config = loadScriptRunnerConfig({
      ...base,
      STAGEHOOKS_SCRIPT_QUEUE_URL: queueUrl,
      STAGEHOOKS_SCRIPT_CONCURRENCY: '4',
      STAGEHOOKS_SCRIPT_STOP_GRACE_SECONDS: '10',
    });

    // Assess
    expect(config.runner).toEqual({ mode: 'pool', queueUrl, concurrency: 4 });
    expect(config.stopGraceMs).toBe(10_000);
  });

  it('says what each mode is missing', () => {
    // Act
    const pool = validationErrorOf(() => loadScriptRunnerConfig(base));
    const task = validationErrorOf(() => loadScriptRunnerConfig({ ...base, STAGEHOOKS_RUNNER_MODE: 'task' }));

    // Assess
    expect(pool.issues).toEqual([
      { path: 'STAGEHOOKS_SCRIPT_QUEUE_URL', message: 'is required in pool mode' },
    ]);
    expect(task.issues).toEqual([
      { path: 'STAGEHOOKS_TASK_TOKEN', message: 'is required in task mode' },
      { path: 'STAGEHOOKS_JOB', message: 'is required in task mode' },
    ]);
  });

  it('runs scripts as 65534:65534 (nobody) unless told otherwise', () => {
    // Prepare
    const pool = { ...base, STAGEHOOKS_SCRIPT_QUEUE_URL: queueUrl };

    // Act
    const byDefault = loadScriptRunnerConfig(pool);
    const emptyIsUnset = loadScriptRunnerConfig({
      ...pool,
      STAGEHOOKS_SCRIPT_UID: '',
      STAGEHOOKS_SCRIPT_GID: '',
    });
    const given = loadScriptRunnerConfig({
      ...pool,
      STAGEHOOKS_SCRIPT_UID: '10001',
      STAGEHOOKS_SCRIPT_GID: '10002',
    });

    // Assess
    expect(byDefault.scriptUser).toEqual({ uid: 65534, gid: 65534 });
    expect(emptyIsUnset.scriptUser).toEqual({ uid: 65534, gid: 65534 });
    expect(given.scriptUser).toEqual({ uid: 10001, gid: 10002 });
  });

  it.each([
    ['0', 'root'],
    ['-1', 'negative'],
    ['nobody', 'a name, not a number'],
    ['1.5', 'not whole'],
    ['2147483648', 'over what Node takes'],
  ])('refuses a script uid or gid of %s (%s)', (id) => {
    // Act
    const error = validationErrorOf(() =>
      loadScriptRunnerConfig({
        ...base,
        STAGEHOOKS_SCRIPT_QUEUE_URL: queueUrl,
        STAGEHOOKS_SCRIPT_UID: id,
        STAGEHOOKS_SCRIPT_GID: id,
      }),
    );

    // Assess
    expect(error.issues).toEqual([
      {
        path: 'STAGEHOOKS_SCRIPT_UID',
        message: 'must be a numeric user id from 1 to 2147483647 (0 is root)',
      },
      {
        path: 'STAGEHOOKS_SCRIPT_GID',
        message: 'must be a numeric group id from 1 to 2147483647 (0 is root)',
      },
    ]);
  });

  it('refuses a pool whose scripts at once would not each get a uid of their own', () => {
    // Act: two scripts at once need uids 1 and 0
    const error = validationErrorOf(() =>
      loadScriptRunnerConfig({
        ...base,
        STAGEHOOKS_SCRIPT_QUEUE_URL: queueUrl,
        STAGEHOOKS_SCRIPT_UID: '1',
        STAGEHOOKS_SCRIPT_CONCURRENCY: '2',
      }),
    );

    // Assess
    expect(error.issues).toEqual([
      {
        path: 'STAGEHOOKS_SCRIPT_UID',
        message: 'leaves too few uids below it for 2 scripts at once (one each, none 0)',
      },
    ]);
  });

  it('refuses a concurrency out of range', () => {
    // Act
    const error = validationErrorOf(() =>
      loadScriptRunnerConfig({
        ...base,
        STAGEHOOKS_SCRIPT_QUEUE_URL: queueUrl,
        STAGEHOOKS_SCRIPT_CONCURRENCY: '0',
      }),
    );

    // Assess
    expect(error.issues).toEqual([
      { path: 'STAGEHOOKS_SCRIPT_CONCURRENCY', message: 'must be a whole number of jobs from 1 to 64' },
    ]);
  });
});
