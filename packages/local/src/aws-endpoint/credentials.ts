import { randomBytes } from 'node:crypto';
import { access, chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromIni } from '@aws-sdk/credential-providers';
import { StagehooksError } from '@stagehooks/core/errors';
import type { AwsKeyPair } from './signature';

/** The profile of the generated AWS shared-credentials file. */
export const AWS_PROFILE = 'stagehooks';

export const awsCredentialsFile = (home: string) => join(home, 'aws-credentials');

/** Base32 letters, as AWS access key ids use: 256 is a multiple of 32, so a byte picks one evenly. */
const KEY_ID_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newKeyPair(): AwsKeyPair {
  const letters = Array.from(randomBytes(16), (byte) => KEY_ID_LETTERS[byte % 32]).join('');
  return { accessKeyId: `AKIA${letters}`, secretAccessKey: randomBytes(30).toString('base64') };
}

/**
 * The pair in the file's `stagehooks` profile, read as an AWS SDK reads it. `configFilepath` is the same
 * file, so a `stagehooks` profile in ~/.aws/config cannot add to it (a role to assume, say).
 */
async function readProfile(file: string): Promise<AwsKeyPair> {
  if (
    !(await access(file).then(
      () => true,
      () => false,
    ))
  )
    throw new StagehooksError(
      `no ${file}: the local stack generates it on its first start (npm start); or set STAGEHOOKS_AWS_ACCESS_KEY_ID and STAGEHOOKS_AWS_SECRET_ACCESS_KEY`,
    );
  try {
    const { accessKeyId, secretAccessKey } = await fromIni({
      profile: AWS_PROFILE,
      filepath: file,
      configFilepath: file,
      ignoreCache: true,
    })();
    return { accessKeyId, secretAccessKey };
  } catch (error) {
    throw new StagehooksError(
      `${file} has no [${AWS_PROFILE}] profile with aws_access_key_id and aws_secret_access_key: fix it, or remove it and start the stack to have a new pair generated`,
      { cause: error },
    );
  }
}

export interface LocalAwsCredentials {
  keys: AwsKeyPair;
  /** Where the generated pair is kept; undefined when STAGEHOOKS_AWS_* set it. */
  file: string | undefined;
}

/**
 * The key pair the AWS-compatible endpoint accepts: STAGEHOOKS_AWS_ACCESS_KEY_ID and
 * STAGEHOOKS_AWS_SECRET_ACCESS_KEY when set, else the `stagehooks` profile of <home>/aws-credentials,
 * generated on first start and readable by its owner only.
 */
export async function loadAwsCredentials(
  home: string,
  fromEnv: AwsKeyPair | undefined,
): Promise<LocalAwsCredentials> {
  if (fromEnv) return { keys: fromEnv, file: undefined };
  const file = awsCredentialsFile(home);
  const keys = newKeyPair();
  const profile = `[${AWS_PROFILE}]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`;
  // 'wx': a file already there is kept, so clients set up with it go on working.
  await writeFile(file, profile, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chmod(file, 0o600);
  return { keys: await readProfile(file), file };
}

/**
 * The same pair for a client of a running stack (the CLI): read when the client first signs, so a
 * command that never calls the endpoint needs none.
 */
export function localAwsCredentials(
  home: string,
  fromEnv: AwsKeyPair | undefined,
): () => Promise<AwsKeyPair> {
  if (fromEnv) return async () => fromEnv;
  return () => readProfile(awsCredentialsFile(home));
}
