/**
 * Users, passwords and stream ACLs, as EventStoreDB applies them in secure mode (TLS on):
 *  - users: `admin` (group `$admins`) and `ops` (group `$ops`), password `changeit`, plus or overriding them the
 *    users of a JSON file (`{"users":[{"name","password"|"passwordHash","groups"}]}`) or of `options.users`;
 *  - every call's Basic credentials are checked (a wrong password or unknown user → UNAUTHENTICATED); a call
 *    without credentials is anonymous, and anonymous callers get no stream access (EventStoreDB 23.10's default,
 *    `AllowAnonymousStreamAccess=false`);
 *  - `$acl` in a stream's metadata (`$r`, `$w`, `$d`, `$mr`, `$mw`: a role or a list of roles, a role being a
 *    user name, a group, or `$all` for every authenticated user) decides; without one, user streams are open to
 *    every authenticated user and `$`-streams (system streams, and `$all`) to `$admins` only; `$admins` may
 *    always do everything; `$$stream` (metadata) is governed by `$mr`/`$mw` of the stream.
 * Without TLS (insecure mode) nothing is checked: every call may do everything, as EventStoreDB's `--insecure`.
 */
import { createHash, scryptSync, timingSafeEqual } from 'crypto';
import { readFileSync } from 'fs';
import type * as grpc from '@grpc/grpc-js';
import { errors, type GrpcError } from './errors';
import type { Store } from './store';

export type UserSpec = string | { password?: string; passwordHash?: string; groups?: string[] };

export interface Principal {
  name: string;
  groups: string[];
  anonymous: boolean;
}

/** `r`ead, `w`rite, `d`elete, `mr` metadata read, `mw` metadata write — the `$acl` keys without their `$`. */
export type Operation = 'r' | 'w' | 'd' | 'mr' | 'mw';

interface UserRecord {
  /** sha256 of the password, or an scrypt verifier. */
  check: (password: string) => boolean;
  groups: string[];
}

const OPEN: Principal = { name: '', groups: ['$admins'], anonymous: false };
const ANONYMOUS: Principal = { name: '', groups: [], anonymous: true };
const DEFAULT_USERS: Record<string, UserSpec> = {
  admin: { password: 'changeit', groups: ['$admins'] },
  ops: { password: 'changeit', groups: ['$ops'] },
};
const AUTH_CACHE = 1000;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** `scrypt$<salt base64>$<key base64>` (Node's scrypt, default cost, 64-byte key). */
function verifier(name: string, spec: UserSpec): UserRecord['check'] {
  const o = typeof spec === 'string' ? { password: spec } : spec;
  if (o.passwordHash !== undefined) {
    const m = /^scrypt\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(o.passwordHash);
    if (!m) throw new Error(`user ${name}: passwordHash must be scrypt$<salt base64>$<key base64>`);
    const salt = Buffer.from(m[1], 'base64');
    const key = Buffer.from(m[2], 'base64');
    return (password) => {
      const got = scryptSync(password, salt, key.length);
      return timingSafeEqual(got, key);
    };
  }
  if (typeof o.password !== 'string' || o.password.length === 0) throw new Error(`user ${name}: a password or passwordHash is required`);
  const want = sha256(o.password);
  return (password) => timingSafeEqual(sha256(password), want);
}

/** The users of a users file: `{"users":[{"name":"alice","password":"…","groups":["readers"]}]}`. */
export function readUsersFile(file: string): Record<string, UserSpec> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`users file ${file}: ${(err as Error).message}`);
  }
  const list = (doc as { users?: unknown }).users;
  if (!Array.isArray(list)) throw new Error(`users file ${file}: expected {"users":[…]}`);
  const out: Record<string, UserSpec> = {};
  for (const [i, u] of list.entries()) {
    const e = u as { name?: unknown; password?: unknown; passwordHash?: unknown; groups?: unknown };
    if (typeof e.name !== 'string' || e.name.length === 0 || e.name.includes(':')) throw new Error(`users file ${file}: users[${i}].name must be a non-empty string without ':'`);
    if (e.groups !== undefined && !(Array.isArray(e.groups) && e.groups.every((g) => typeof g === 'string'))) {
      throw new Error(`users file ${file}: users[${i}].groups must be a list of strings`);
    }
    out[e.name] = {
      password: typeof e.password === 'string' ? e.password : undefined,
      passwordHash: typeof e.passwordHash === 'string' ? e.passwordHash : undefined,
      groups: e.groups as string[] | undefined,
    };
  }
  return out;
}

export class Security {
  private readonly users = new Map<string, UserRecord>();
  /** Authorization header → principal, for headers that were accepted (scrypt is slow on purpose). */
  private readonly accepted = new Map<string, Principal>();

  constructor(
    readonly enabled: boolean,
    users: Record<string, UserSpec>,
    private readonly store: Store,
  ) {
    for (const [name, spec] of Object.entries({ ...DEFAULT_USERS, ...users })) {
      const d = DEFAULT_USERS[name];
      const defaultGroups = typeof d === 'object' ? (d.groups ?? []) : [];
      const groups = typeof spec === 'string' ? defaultGroups : (spec.groups ?? defaultGroups);
      this.users.set(name, { check: verifier(name, spec), groups });
    }
  }

  /** The caller, or UNAUTHENTICATED for a wrong password / unknown user. Insecure mode: everyone may do all. */
  authenticate(md: grpc.Metadata): Principal | GrpcError {
    if (!this.enabled) return OPEN;
    const header = md.get('authorization')[0];
    if (header === undefined) return ANONYMOUS;
    const text = String(header);
    const hit = this.accepted.get(text);
    if (hit) return hit;
    const m = /^Basic\s+(.+)$/i.exec(text);
    if (!m) return errors.unauthenticated();
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    if (sep < 0) return errors.unauthenticated();
    const name = decoded.slice(0, sep);
    const user = this.users.get(name);
    if (!user || !user.check(decoded.slice(sep + 1))) return errors.unauthenticated();
    const p: Principal = { name, groups: user.groups, anonymous: false };
    if (this.accepted.size >= AUTH_CACHE) this.accepted.delete(this.accepted.keys().next().value as string);
    this.accepted.set(text, p);
    return p;
  }

  /** Whether `p` may do `op` on `stream` (`$all` for reads of all; `$$x` is x's metadata). */
  allowed(p: Principal, stream: string, op: Operation): boolean {
    if (p.groups.includes('$admins')) return true;
    if (p.anonymous) return false;
    let base = stream;
    let o = op;
    if (stream.startsWith('$$') && stream !== '$$') {
      base = stream.slice(2);
      o = op === 'r' ? 'mr' : op === 'w' ? 'mw' : op;
    }
    const roles = this.store.stream(base)?.meta.acl?.[o] ?? (base.startsWith('$') ? ['$admins'] : ['$all']);
    return roles.includes('$all') || roles.includes(p.name) || p.groups.some((g) => roles.includes(g));
  }

  /** AccessDenied unless `p` may do `op` on `stream`. */
  check(p: Principal, stream: string, op: Operation): GrpcError | undefined {
    return this.allowed(p, stream, op) ? undefined : errors.accessDenied();
  }

  /** Persistent-subscription management (create, update, delete, replay, restart): `$admins` and `$ops`. */
  checkOperations(p: Principal): GrpcError | undefined {
    return p.groups.includes('$admins') || p.groups.includes('$ops') ? undefined : errors.accessDenied();
  }
}

export function isPrincipal(v: Principal | GrpcError): v is Principal {
  return 'groups' in v;
}

/**
 * What a fresh EventStoreDB writes to its log before any client does, so `$all` starts with system events as
 * it does there: the scavenge history's `$maxAge`, and the default users' records (`$user-admin`, `$user-ops`:
 * `$User` without the password hash, their `$acl`, and `$UserCreated` in `$users`). Written once, on an empty log.
 */
export async function seedSystemStreams(store: Store): Promise<void> {
  if (store.head > 0) return;
  const json = (type: string, data: unknown) => ({
    id: globalThis.crypto.randomUUID(),
    type,
    contentType: 'application/json',
    data: Buffer.from(JSON.stringify(data), 'utf8'),
    metadata: Buffer.alloc(0),
  });
  const writes: Array<[string, ReturnType<typeof json>]> = [['$$$scavenges', json('$metadata', { $maxAge: 2592000 })]];
  for (const [login, fullName, group] of [
    ['admin', 'Event Store Administrator', '$admins'],
    ['ops', 'Event Store Operations', '$ops'],
  ]) {
    writes.push([`$$$user-${login}`, json('$metadata', { $acl: { $w: '$admins', $d: '$admins', $mw: '$admins' } })]);
    writes.push([`$user-${login}`, json('$User', { loginName: login, fullName, groups: [group], disabled: false })]);
    writes.push(['$users', { ...json('$UserCreated', null), data: Buffer.from(login, 'utf8'), contentType: 'application/octet-stream' }]);
  }
  for (const [stream, event] of writes) await store.write({ kind: 'append', stream, expected: { kind: 'any' }, events: [event] });
}
