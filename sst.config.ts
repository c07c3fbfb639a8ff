/**
 * SST v2 app: `sst deploy --stage <stage>` composes the stacks in infra/. Only the registry table exists
 * so far (infra/registry.ts); the engine, admin API and console stacks join it with their issues, and
 * with them the `sst` package itself.
 */
export default {
  config() {
    return { name: 'stagehooks', region: process.env.AWS_REGION ?? 'us-east-1' };
  },
  stacks() {},
};
