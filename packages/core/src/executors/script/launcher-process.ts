/**
 * The script launcher: a small process of its own that starts the process groups a script runner
 * sends it over the IPC channel and sends back how each ended (`launcher-protocol.ts`). Spawning
 * forks the process that spawns, page tables and all: from this one (plain Node, bundled apart from
 * the rest) it costs a fraction of what it costs from a stack process of a few hundred MB.
 *
 * When the channel closes (its parent stopped or died), it kills every group it started and exits:
 * no script outlives the stack that asked for it.
 */
import type { LauncherReply, LauncherRequest } from './launcher-protocol';
import { runProcessGroup } from './process-group';

const running = new Set<number>();

function reply(message: LauncherReply): void {
  // After a disconnect there is nobody to tell: the groups are being killed and the process exits. A
  // send that fails (the stack died as it was written) is the same case; 'disconnect' follows.
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

function launch({ id, launch }: LauncherRequest): void {
  let group: number | undefined;
  runProcessGroup(
    { ...launch, ...(launch.fd3 && { fd3: Buffer.from(launch.fd3) }) },
    {
      onSpawn: (pid) => {
        group = pid;
        running.add(pid);
        reply({ type: 'spawned', id, pid });
      },
    },
  )
    .then(
      (finished) => reply({ type: 'finished', id, finished }),
      (error: unknown) =>
        reply({
          type: 'failed',
          id,
          message: error instanceof Error ? error.message : String(error),
          cause: error instanceof Error && error.cause instanceof Error ? error.cause.message : null,
        }),
    )
    .finally(() => {
      if (group !== undefined) running.delete(group);
    });
}

process.on('message', (message: LauncherRequest) => {
  if (message?.type === 'run') launch(message);
});
/** Synchronous, so it also runs from 'exit', whatever ends the launcher (short of SIGKILL). */
function killAll(): void {
  for (const group of running) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function killAllAndExit(): never {
  killAll();
  process.exit(0);
}

process.on('exit', killAll);
process.on('disconnect', killAllAndExit);
process.on('SIGTERM', killAllAndExit);
process.on('SIGHUP', killAllAndExit);
// Ctrl-C reaches the whole foreground group: the stack decides what happens to running scripts.
process.on('SIGINT', () => undefined);
reply({ type: 'ready' });
