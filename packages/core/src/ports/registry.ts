import type {
  CatalogRef,
  Hook,
  HookAuditEntry,
  HookCreate,
  HookPoint,
  HookReplace,
  Scope,
  ScopeType,
} from '../domain';
import type { Page, PageRequest } from './pages';

export interface HookListFilter {
  scopeType?: ScopeType | undefined;
  scopeId?: string | undefined;
  hookPoint?: HookPoint | undefined;
  enabled?: boolean | undefined;
}

export interface HookWriteResult {
  hook: Hook;
  /** Only when the write created a webhook's signing secret: shown once, never readable again. */
  signingSecret?: string;
}

/** Where a hook came from, when not from a plain write. */
export interface HookOrigin {
  catalog?: Omit<CatalogRef, 'updateAvailable'>;
}

/** The hook registry port: what the domain needs from storage. */
export interface HookRegistry {
  /** `origin.catalog`: the catalog entry an install made it from (kept through every replace). */
  create(input: HookCreate, actor: string, origin?: HookOrigin): Promise<HookWriteResult>;
  /** Undefined when there is no such hook. */
  get(id: string): Promise<Hook | undefined>;
  /** Full replace; throws StaleRevisionError unless `input.revision` is the stored one. */
  replace(id: string, input: HookReplace, actor: string): Promise<HookWriteResult>;
  /** Throws HookNotFoundError, or StaleRevisionError when `expectedRevision` is given and stale. */
  delete(id: string, actor: string, expectedRevision?: number): Promise<Hook>;
  list(filter: HookListFilter, page?: PageRequest): Promise<Page<Hook>>;
  /** Every hook (enabled or not) defined directly at one scope for one hook point: one query. */
  hooksAt(scope: Scope, hookPoint: HookPoint): Promise<Hook[]>;
  /**
   * The generation of each scope's hooks at a hook point (0 before the first change), read consistently
   * in one request: it moves with every create, replace and delete there, so `hooksAt` read after it is
   * at least that new.
   */
  generations(scopes: Scope[], hookPoint: HookPoint): Promise<number[]>;
  signingSecret(id: string): Promise<string | undefined>;
  auditTrail(hookId: string, page?: PageRequest): Promise<Page<HookAuditEntry>>;
}
