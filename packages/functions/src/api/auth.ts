import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpProblem } from './problem';

export const roles = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface Identity {
  actor: string;
  role: Role;
}

/** Claims as API Gateway's JWT authorizer hands them over (locally: the local server's token check). */
type Claims = Record<string, string | number | boolean | string[] | undefined>;

/** `["a","b"]`, `[a b]` (how HTTP APIs flatten arrays), or `a,b`. */
function groupsOf(value: Claims[string]): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  const text = value.trim().replace(/^\[|\]$/g, '');
  return text
    .split(/[\s,]+/)
    .map((g) => g.replace(/^"|"$/g, ''))
    .filter(Boolean);
}

/**
 * Who is calling, from the authorizer's claims: the strongest stagehooks role among the groups claim.
 * No claims at all is a 401; claims without a stagehooks role is a 403.
 */
export function identityOf(event: APIGatewayProxyEventV2, groupsClaim: string): Identity {
  const context = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Claims } };
  };
  const claims = context.authorizer?.jwt?.claims;
  if (!claims) throw new HttpProblem(401, 'sign in: this route needs a bearer token');
  const groups = groupsOf(claims[groupsClaim]);
  const role = [...roles].reverse().find((r) => groups.includes(r));
  const actor = String(
    claims.email ?? claims['cognito:username'] ?? claims.username ?? claims.sub ?? 'unknown',
  );
  if (!role)
    throw new HttpProblem(
      403,
      `${actor} has no stagehooks role (admin, editor or viewer) in "${groupsClaim}"`,
    );
  return { actor, role };
}

export type Access = 'read' | 'write';

/** Viewers read; editors write project and scene-type hooks; admins do everything. */
export function authorize(identity: Identity, access: Access, scopeTypes: Array<string | undefined> = []) {
  if (access === 'read') return;
  if (identity.role === 'viewer') throw new HttpProblem(403, `${identity.actor} is a viewer: read only`);
  if (identity.role === 'editor' && scopeTypes.includes('studio')) {
    throw new HttpProblem(403, `${identity.actor} is an editor: studio hooks need an admin`);
  }
}
