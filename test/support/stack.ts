import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { HookCreate, type HookCreateInput, stageReachedEntry } from '@stagehooks/core/domain';
import { loadLocalConfig } from '@stagehooks/local/config';
import { type LocalStack, type LocalStackChecks, startLocalStack } from '@stagehooks/local/stack';
import { startEventReceiver } from './event-receiver';
import { freePort } from './free-port';

/**
 * The real local stack (`npm start`'s), on free ports in a temporary home, with the real SDK clients
 * pointed at it and an HTTP receiver for the events it forwards.
 */
export async function startTestStack(
  env: Record<string, string> = {},
  home?: string,
  checks: LocalStackChecks = {},
) {
  const dir = home ?? (await mkdtemp(join(tmpdir(), 'stagehooks-e2e-')));
  const receiver = await startEventReceiver();
  const ports = {
    STAGEHOOKS_PORT: await freePort(),
    STAGEHOOKS_AWS_PORT: await freePort(),
    STAGEHOOKS_DYNAMODB_PORT: await freePort(),
  };
  const config = loadLocalConfig({
    STAGEHOOKS_HOME: dir,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    STAGEHOOKS_EVENT_TARGET_URL: receiver.url,
    STAGEHOOKS_DEMO: '0',
    ...env,
  });
  // Handlers get the state's own data (not a copy): every e2e stage checks that none changes it.
  const stack: LocalStack = await startLocalStack(config, { freezeTaskInputs: true, ...checks });
  // The endpoint answers only requests signed with the pair the stack generated into its home.
  const credentials = stack.awsCredentials;
  const eventBridge = new EventBridgeClient({
    endpoint: stack.endpoints.aws,
    region: 'us-east-1',
    credentials,
  });
  const sfn = new SFNClient({ endpoint: stack.endpoints.aws, region: 'us-east-1', credentials });
  return {
    home: dir,
    stack,
    receiver,
    eventBridge,
    sfn,
    define: async (hook: HookCreateInput & Record<string, unknown>) =>
      await stack.registry.create(HookCreate.parse(hook), 'e2e'),
    /** PutEvents of a "Stage Reached" event, as the pipeline sends it. */
    emit: async (detail: Record<string, unknown>) => {
      const result = await eventBridge.send(
        new PutEventsCommand({
          Entries: [stageReachedEntry(detail)],
        }),
      );
      return result.Entries?.[0]?.EventId as string;
    },
    /** Stops the stack (executions still running stay RUNNING on disk, as after a crash). */
    stopStack: () => stack.stop(),
    close: async ({ keepHome = false } = {}) => {
      eventBridge.destroy();
      sfn.destroy();
      await stack.stop();
      await receiver.close();
      if (!keepHome) await rm(dir, { recursive: true, force: true });
    },
  };
}

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;
