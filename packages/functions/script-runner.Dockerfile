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

# An unprivileged user with no login shell and no home of value: hooks run as this user too.
RUN groupadd --system --gid 10001 stagehooks \
  && useradd --system --uid 10001 --gid stagehooks --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin stagehooks

WORKDIR /app
COPY --chown=root:root --chmod=0444 dist/script-runner.mjs ./script-runner.mjs

ENV NODE_ENV=production
USER stagehooks:stagehooks

ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/script-runner.mjs"]
