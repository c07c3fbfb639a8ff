import { resolve } from 'node:path';
import { loadLocalConfig } from '@stagehooks/local/config';
import { describe, expect, it } from 'vitest';

describe('loadLocalConfig', () => {
  it('uses the ports and folder DESIGN.md fixes when nothing is set', () => {
    expect(loadLocalConfig({})).toEqual({
      home: resolve('.stagehooks'),
      dataDir: {
        dynamodb: resolve('.stagehooks', 'dynamodb'),
        executions: resolve('.stagehooks', 'executions'),
        scripts: resolve('.stagehooks', 'scripts'),
        venvs: resolve('.stagehooks', 'venvs'),
      },
      ports: { api: 4100, aws: 4101, dynamodb: 4102, demoReceiver: 4103 },
      tableName: 'stagehooks',
      logRetentionDays: 30,
      reviewTimeoutSeconds: 7 * 24 * 3600,
      eventTargetUrl: undefined,
      webhookAllow: [],
      scriptSandbox: 'auto',
      scriptLimits: { processes: 64, diskMiB: 64 },
      scriptUser: { uid: 65534, gid: 65534 },
      scriptUsers: 16,
      demo: true,
      adminToken: undefined,
      awsCredentials: undefined,
      corsOrigins: [],
      catalogDir: resolve('catalog'),
      media: null,
    });
  });

  it('gives scripts media folders to read and a per-job output root, and refuses / as a media folder', () => {
    expect(loadLocalConfig({ STAGEHOOKS_MEDIA_DIRS: '/srv/media: ./renders ' }).media).toEqual({
      dirs: ['/srv/media', resolve('renders')],
      outputRoot: resolve('.stagehooks', 'media-out'),
    });
    expect(
      loadLocalConfig({ STAGEHOOKS_MEDIA_DIRS: '/srv/media', STAGEHOOKS_MEDIA_OUT: '/srv/out' }).media,
    ).toEqual({ dirs: ['/srv/media'], outputRoot: '/srv/out' });
    expect(() => loadLocalConfig({ STAGEHOOKS_MEDIA_DIRS: '/srv:/' })).toThrow(/STAGEHOOKS_MEDIA_DIRS/);
  });

  it('takes the AWS key pair of the endpoint from the environment, both halves or neither', () => {
    const pair = { accessKeyId: 'AKIAEXAMPLEKEY000000', secretAccessKey: 'a-secret-of-16-chars-or-more' };
    expect(
      loadLocalConfig({
        STAGEHOOKS_AWS_ACCESS_KEY_ID: pair.accessKeyId,
        STAGEHOOKS_AWS_SECRET_ACCESS_KEY: pair.secretAccessKey,
      }).awsCredentials,
    ).toEqual(pair);
    expect(() => loadLocalConfig({ STAGEHOOKS_AWS_ACCESS_KEY_ID: pair.accessKeyId })).toThrow(
      'invalid environment: STAGEHOOKS_AWS_SECRET_ACCESS_KEY: is required with STAGEHOOKS_AWS_ACCESS_KEY_ID',
    );
    expect(() => loadLocalConfig({ STAGEHOOKS_AWS_SECRET_ACCESS_KEY: pair.secretAccessKey })).toThrow(
      'invalid environment: STAGEHOOKS_AWS_ACCESS_KEY_ID: is required with STAGEHOOKS_AWS_SECRET_ACCESS_KEY',
    );
  });

  it('takes every setting from the environment', () => {
    const config = loadLocalConfig({
      STAGEHOOKS_HOME: '/tmp/sh',
      STAGEHOOKS_PORT: '5100',
      STAGEHOOKS_AWS_PORT: '5101',
      STAGEHOOKS_DYNAMODB_PORT: '5102',
      STAGEHOOKS_TABLE: 'other',
      STAGEHOOKS_LOG_RETENTION_DAYS: '7',
    });
    expect(config).toMatchObject({
      home: '/tmp/sh',
      ports: { api: 5100, aws: 5101, dynamodb: 5102 },
      tableName: 'other',
      logRetentionDays: 7,
    });
  });

  it.each([
    ['STAGEHOOKS_DYNAMODB_PORT', 'abc', /port from 1 to 65535/],
    ['STAGEHOOKS_PORT', '70000', /port from 1 to 65535/],
    ['STAGEHOOKS_LOG_RETENTION_DAYS', '0', /whole number of days/],
    ['STAGEHOOKS_LOG_RETENTION_DAYS', 'soon', /whole number of days/],
    ['STAGEHOOKS_TABLE', 'a b', /table name/],
    ['STAGEHOOKS_EVENT_TARGET_URL', 'ftp://x', /http or https URL/],
    ['STAGEHOOKS_SCRIPT_SANDBOX', 'docker', /auto/],
    ['STAGEHOOKS_DEMO', 'maybe', /0/],
    ['STAGEHOOKS_AWS_ACCESS_KEY_ID', 'local', /AWS access key id/],
    ['STAGEHOOKS_SCRIPT_MAX_PROCESSES', '2', /whole number from 4/],
    ['STAGEHOOKS_SCRIPT_TMP_MIB', '0.5', /whole number from 1/],
    ['STAGEHOOKS_SCRIPT_UID', '0', /whole number from 1/],
  ])('names %s=%s and the reason when it is bad', (name, value, reason) => {
    expect(() => loadLocalConfig({ [name]: value })).toThrow(
      new RegExp(`invalid environment: ${name}: .*${reason.source}`),
    );
  });
});
