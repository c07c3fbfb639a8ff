# Script-runner image for ECS Fargate: runs shell and python hooks with the same ProcessScriptRunner
# as the local stack, in `sandbox: 'none'` mode (Fargate allows no user namespaces for bubblewrap; the
# task is the isolation boundary). The runner still builds each script's environment from scratch and
# applies prlimit limits (util-linux, part of the base image).
#
# Build from packages/functions after bundling the entrypoint:
#   docker build -f script-runner.Dockerfile -t stagehooks-script-runner .
FROM node:22-slim

# bash and python3 run the hooks; tini is PID 1 so the processes the runner kills by process group are
# reaped instead of piling up as zombies in a long-lived pool task.
RUN apt-get update \
  && apt-get install -y --no-install-recommends bash python3 tini \
  && rm -rf /var/lib/apt/lists/*

# Scripts run as nobody: no setuid or setgid programs (su, mount, passwd...) to climb back up with.
RUN find / -xdev -type f -perm /6000 -exec chmod a-s {} +

WORKDIR /app
COPY --chown=root:root --chmod=0444 dist/script-runner.mjs ./script-runner.mjs

ENV NODE_ENV=production

# No USER: the runner stays root, because only root can start each script as another user (setuid and
# setgid), hand it a work folder it can read but not change (chown), and kill its process group. The
# scripts run as STAGEHOOKS_SCRIPT_UID/STAGEHOOKS_SCRIPT_GID (default 65534, nobody/nogroup), without
# capabilities: as another uid they cannot read /proc/<runner>/environ, which holds the task role's
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and, in task mode, the task token, nor signal or ptrace the
# runner. The task definition must keep Docker's default CHOWN, DAC_OVERRIDE, KILL, SETUID and SETGID.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/script-runner.mjs"]
