export { type Identity, identityOf, type Role, roles } from './auth';
export type { AdminApiDeps } from './deps';
export {
  type AdminApiHandler,
  type AdminApiOptions,
  createAdminApi,
  MAX_BODY_BYTES,
  routes,
} from './handler';
export { openApiDocument } from './openapi';
export { HttpProblem, type Problem, toProblem } from './problem';
export type { Route } from './route';
