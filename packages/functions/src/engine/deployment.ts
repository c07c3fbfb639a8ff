import { lambdaFunctions } from '@stagehooks/core/engine';

/** The engine Lambdas' bundle, relative to dist/ (`build.mjs` writes it from `lambda-entry.ts`). */
export const engineBundle = 'lambda/engine.mjs';

/**
 * Each Lambda-backed Task state as the CDK stacks deploy it: a function of its own (`logicalName`)
 * running the engine bundle, its handler `engine.stage.<handlerExport>` (the Lambda runtime resolves
 * a dotted path inside a module's export), its ARN filling `placeholder` in the definition.
 * Importing this module builds nothing (the bundle's entry does).
 */
export const engineLambdas = lambdaFunctions.map(({ state, logicalName, handlerExport, placeholder }) => ({
  state,
  logicalName,
  handler: `engine.stage.${handlerExport}` as const,
  placeholder,
}));

/** The container image's entry, relative to dist/ (script-runner.Dockerfile copies it). */
export const scriptRunnerBundle = 'script-runner.mjs';
