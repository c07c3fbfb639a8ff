import { lambdaFunctions } from '@stagehooks/core/engine';

/**
 * Each Lambda-backed Task state as the CDK stacks deploy it: a function of its own (`logicalName`)
 * running the engine bundle (`bundle`, relative to dist/: `build.mjs` writes it from `lambda-entry.ts`),
 * its handler `engine.stage.<handlerExport>` (the Lambda runtime resolves a dotted path inside a
 * module's export), its ARN filling `placeholder` in the definition. Importing this builds nothing.
 */
export const engineLambdas = lambdaFunctions.map(({ state, logicalName, handlerExport, placeholder }) => ({
  state,
  logicalName,
  bundle: 'lambda/engine.mjs',
  handler: `engine.stage.${handlerExport}` as const,
  placeholder,
}));

/** The container image's entry, relative to dist/ (script-runner.Dockerfile copies it). */
export const scriptRunnerBundle = 'script-runner.mjs';
