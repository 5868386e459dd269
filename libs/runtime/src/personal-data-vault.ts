/**
 * Personal data at rest (docs/privacy.md): crypto-shredding.
 *
 * Every person's stream (`customer-<id>`, `visitor-<id>`) gets a data key of its own, made on the
 * first event that carries a personal value (libs/domain privacy/personal-data.ts says which). The
 * ingest seals each personal value with it before the append: AES-256-GCM, a fresh 96-bit IV per
 * value, the event id and the field's path as associated data (a sealed value cannot be moved to
 * another event or field). So no plaintext personal value is ever written to the log.
 *
 * Data keys live in the read store (table `privacy_keys`), never in the append-only log, wrapped
 * by the key-encryption key (KEK, `KeyEncryptionKey`: a local AES-256 key here; the interface
 * leaves room for a cloud KMS). An erasure clears the wrapped key for good: every value sealed
 * with it is then unreadable wherever a copy of the log went, while the events, and every figure
 * the projections fold from them, stay.
 *
 * Caching: a process keeps the keys it sealed with (bounded); readers (`open`) always ask the
 * store, so an erasure made through any process stops every export and timeline at once. A
 * process that still holds an erased key in its sealing cache can only seal new values that no
 * one can open again.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { sql } from 'kysely';
import type { CairnConfig } from '@cairn/config';
import { CairnError, ERROR_CODES, SEALED_PREFIX, personalValues, sealedPaths, withPersonalValues } from '@cairn/domain';
import type { EventToAppend } from '@cairn/event-store';
import type { ReadStore } from '@cairn/read-models';
import type { Logger } from './logger';

/** Wraps and unwraps data keys. A cloud KMS implements the same three members. */
export interface KeyEncryptionKey {
  /** Stable id of this KEK (never the key itself): stored beside every key it wrapped. */
  readonly id: string;
  wrap(dataKey: Buffer): Promise<string>;
  unwrap(wrapped: string): Promise<Buffer>;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEAL_CACHE_LIMIT = 50_000;
const IN_CHUNK = 500;

const b64url = (b: Buffer) => b.toString('base64url');

/** Random IVs drawn from a pool refilled 4,096 at a time (one getrandom call instead of one per value); never reused. */
let ivPool = Buffer.alloc(0);
let ivOffset = 0;
function freshIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * 4096);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/** iv ‖ ciphertext ‖ tag, written into one buffer (a KeyObject key skips re-importing it per value). */
function gcmSeal(key: KeyObject | Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const out = Buffer.allocUnsafe(IV_BYTES + head.length + tail.length + TAG_BYTES);
  iv.copy(out, 0);
  head.copy(out, IV_BYTES);
  tail.copy(out, IV_BYTES + head.length);
  cipher.getAuthTag().copy(out, IV_BYTES + head.length + tail.length);
  return out;
}

function gcmOpen(key: KeyObject | Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/** A KEK held by this process (from CAIRN_KEK, CAIRN_KEK_FILE or `<dataDir>/kek`). */
export class LocalKeyEncryptionKey implements KeyEncryptionKey {
  readonly id: string;
  constructor(
    private readonly key: Buffer,
    /** Where it came from, for messages (`CAIRN_KEK`, a file path): never the key. */
    readonly source: string,
  ) {
    this.id = `local-${createHash('sha256').update('cairn-kek-id\0').update(key).digest('hex').slice(0, 16)}`;
  }
  async wrap(dataKey: Buffer): Promise<string> {
    return b64url(gcmSeal(this.key, dataKey, Buffer.from(this.id)));
  }
  async unwrap(wrapped: string): Promise<Buffer> {
    return gcmOpen(this.key, Buffer.from(wrapped, 'base64url'), Buffer.from(this.id));
  }
}

function parseKek(text: string, setting: string): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/]{43}=$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (!key || key.length !== KEY_BYTES) {
    throw new CairnError(ERROR_CODES.CONFIG, `${setting}: must hold a key-encryption key of 32 bytes in base64 (44 characters, as \`openssl rand -base64 32\` prints)`, { settings: [setting] });
  }
  return key;
}

/**
 * The KEK of this process: CAIRN_KEK, else the file CAIRN_KEK_FILE names, else `<dataDir>/kek`,
 * generated at first start (mode 0600) so `npm start` needs no set-up. A malformed or unreadable
 * one stops start-up naming the setting.
 */
export function loadKeyEncryptionKey(config: Pick<CairnConfig, 'kek' | 'kekFile' | 'dataDir'>, logger?: Logger): LocalKeyEncryptionKey {
  if (config.kek !== undefined && config.kekFile !== undefined) {
    throw new CairnError(ERROR_CODES.CONFIG, 'CAIRN_KEK and CAIRN_KEK_FILE are both set: give the key-encryption key one way', { settings: ['CAIRN_KEK', 'CAIRN_KEK_FILE'] });
  }
  if (config.kek !== undefined) return new LocalKeyEncryptionKey(parseKek(config.kek, 'CAIRN_KEK'), 'CAIRN_KEK');
  if (config.kekFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.kekFile, 'utf8');
    } catch (err) {
      throw new CairnError(ERROR_CODES.CONFIG, `CAIRN_KEK_FILE: cannot read ${config.kekFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { settings: ['CAIRN_KEK_FILE'] });
    }
    return new LocalKeyEncryptionKey(parseKek(text, 'CAIRN_KEK_FILE'), config.kekFile);
  }
  const file = join(config.dataDir, 'kek');
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    logger?.info({ file }, 'generated the key-encryption key (keep it with the data directory; set CAIRN_KEK_FILE to keep it elsewhere)');
  } else chmodSync(file, 0o600);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CairnError(ERROR_CODES.CONFIG, `${file}: cannot read the key-encryption key (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { settings: ['CAIRN_KEK_FILE'] });
  }
  return new LocalKeyEncryptionKey(parseKek(text, file), file);
}

/** The stream a person's key belongs to; also what an erasure names. */
export type KeySubject = string;

interface DataKey {
  readonly keyId: string;
  readonly key: KeyObject;
}

/** A person's events opened for a reader: the data with personal values in plaintext, and which ones are gone. */
export interface OpenedData<D> {
  readonly data: D;
  /** Paths whose value was erased (or whose key is gone): `null` in `data`. */
  readonly erased: readonly string[];
}

export interface ErasedKeys {
  readonly subjects: readonly KeySubject[];
  /** Fingerprints of the keys destroyed now (keys erased before are not counted again). */
  readonly fingerprints: readonly string[];
}

const aad = (eventId: string, path: string) => Buffer.from(`${eventId}\0${path}`);

export class PersonalDataVault {
  /** Keys this process sealed with, by subject; `null`: the subject is erased. */
  private readonly sealing = new Map<KeySubject, DataKey | null>();

  private constructor(
    private readonly store: ReadStore,
    private readonly kek: KeyEncryptionKey,
    private readonly logger?: Logger,
  ) {}

  /**
   * Opens the vault over `store`. Refuses (CAIRN.CONFIG) a KEK other than the one that wrapped the
   * keys already there: every Cairn process over one read store needs the same CAIRN_KEK(_FILE).
   */
  static async open(store: ReadStore, kek: KeyEncryptionKey & { source?: string }, logger?: Logger): Promise<PersonalDataVault> {
    const other = await store.db.selectFrom('privacy_keys').select('kek_id').where('wrapped', 'is not', null).where('kek_id', '!=', kek.id).limit(1).executeTakeFirst();
    if (other) {
      throw new CairnError(
        ERROR_CODES.CONFIG,
        `the key-encryption key from ${kek.source ?? 'the configuration'} (${kek.id}) is not the one that wrapped the data keys in the read store (${other.kek_id}): give every Cairn process on this read store the same CAIRN_KEK or CAIRN_KEK_FILE`,
        { settings: ['CAIRN_KEK', 'CAIRN_KEK_FILE'] },
      );
    }
    return new PersonalDataVault(store, kek, logger);
  }

  get kekId(): string {
    return this.kek.id;
  }

  /**
   * The events with every personal value sealed under its stream's key (keys made as needed, in
   * one statement per call). A stream whose person was erased keeps no new personal value: those
   * fields are dropped (the event itself is stored as sent otherwise).
   */
  async seal(appends: readonly EventToAppend[]): Promise<EventToAppend[]> {
    const personal = appends.map((a) => personalValues(a.event.type, a.event.data as Record<string, unknown>));
    const subjects = new Set<KeySubject>();
    personal.forEach((values, i) => {
      if (values.length > 0) subjects.add(appends[i]!.streamId);
    });
    if (subjects.size === 0) return [...appends];
    const keys = await this.sealingKeys([...subjects]);
    return appends.map((a, i) => {
      const values = personal[i]!;
      if (values.length === 0) return a;
      const key = keys.get(a.streamId) ?? null;
      const byPath = new Map(values.map((v) => [v.path, v.value]));
      const data = withPersonalValues(
        a.event.data as Record<string, unknown>,
        (path) => (key === null ? undefined : `${SEALED_PREFIX}${key.keyId}:${b64url(gcmSeal(key.key, Buffer.from(JSON.stringify(byPath.get(path))), aad(a.id, path)))}`),
        values.map((v) => v.path),
      );
      return { ...a, event: { ...a.event, data } as EventToAppend['event'] };
    });
  }

  /** Opens the sealed values of events read back from the log (plaintext of events sealed before is left as it is). */
  async open<D extends Record<string, unknown>>(events: readonly { readonly id: string; readonly type: string; readonly data: D }[]): Promise<OpenedData<D>[]> {
    const paths = events.map((e) => sealedPaths(e.type, e.data));
    const keyIds = new Set<string>();
    events.forEach((e, i) => {
      for (const p of paths[i]!) keyIds.add(keyIdOf(valueAt(e.data, p) as string));
    });
    const keys = await this.readingKeys([...keyIds]);
    return events.map((e, i) => {
      const erased: string[] = [];
      const data = withPersonalValues(
        e.data,
        (path, value) => {
          const sealed = value as string;
          const key = keys.get(keyIdOf(sealed));
          if (key) {
            try {
              return JSON.parse(gcmOpen(key, Buffer.from(sealed.slice(sealed.indexOf(':', SEALED_PREFIX.length) + 1), 'base64url'), aad(e.id, path)).toString('utf8'));
            } catch {
              this.logger?.warn({ eventId: e.id, path }, 'a sealed personal value does not open with its key (tampered or moved): shown as erased');
            }
          }
          erased.push(path);
          return null;
        },
        paths[i]!,
      );
      return { data, erased };
    });
  }

  /**
   * Destroys the keys of `subjects` for good (and marks subjects with no key yet, so none is made
   * later), in one transaction with `record` (the erasure's own rows), then makes sure the wrapped
   * keys are gone from the store's files too (SQLite: secure_delete and a WAL checkpoint;
   * PostgreSQL: VACUUM of the table, see docs/privacy.md for what it cannot reach).
   */
  async erase(subjects: readonly KeySubject[], erasureId: string, at: string, record: (trx: Parameters<Parameters<ReadStore['transaction']>[0]>[0], erased: ErasedKeys) => Promise<void>): Promise<ErasedKeys> {
    const unique = [...new Set(subjects)].sort();
    const sqlite = this.store.kind === 'sqlite' && this.store.onWriter !== undefined;
    if (sqlite) await this.store.onWriter!('PRAGMA secure_delete = ON');
    let result: ErasedKeys;
    try {
      result = await this.store.transaction(async (trx) => {
        const fingerprints: string[] = [];
        const have = new Set<string>();
        for (let i = 0; i < unique.length; i += IN_CHUNK) {
          const part = unique.slice(i, i + IN_CHUNK);
          const rows = await trx.selectFrom('privacy_keys').select(['subject', 'wrapped', 'fingerprint']).where('subject', 'in', part).execute();
          for (const r of rows) {
            have.add(r.subject);
            if (r.wrapped !== null) fingerprints.push(r.fingerprint);
          }
          await trx.updateTable('privacy_keys').set({ wrapped: null }).where('subject', 'in', part).execute();
          await trx.updateTable('privacy_keys').set({ erased_at: at, erasure_id: erasureId }).where('subject', 'in', part).where('erased_at', 'is', null).execute();
        }
        const missing = unique.filter((s) => !have.has(s));
        for (let i = 0; i < missing.length; i += IN_CHUNK) {
          await trx
            .insertInto('privacy_keys')
            .values(missing.slice(i, i + IN_CHUNK).map((subject) => ({ subject, key_id: newKeyId(), wrapped: null, kek_id: this.kek.id, fingerprint: '', created_at: at, erased_at: at, erasure_id: erasureId })))
            .onConflict((oc) => oc.column('subject').doNothing())
            .execute();
        }
        const erased = { subjects: unique, fingerprints: fingerprints.sort() };
        await record(trx, erased);
        return erased;
      });
    } finally {
      if (sqlite) await this.store.onWriter!('PRAGMA secure_delete = OFF').catch(() => undefined);
    }
    for (const s of unique) this.sealing.set(s, null);
    await this.purge();
    return result;
  }

  /** Which of `subjects` are erased. */
  async erasedSubjects(subjects: readonly KeySubject[]): Promise<Set<KeySubject>> {
    const out = new Set<KeySubject>();
    for (let i = 0; i < subjects.length; i += IN_CHUNK) {
      const rows = await this.store.db.selectFrom('privacy_keys').select('subject').where('subject', 'in', subjects.slice(i, i + IN_CHUNK)).where('erased_at', 'is not', null).execute();
      for (const r of rows) out.add(r.subject);
    }
    return out;
  }

  /** Old copies of the destroyed keys out of the store's files. */
  private async purge(): Promise<void> {
    try {
      if (this.store.kind === 'sqlite' && this.store.onWriter) {
        // The WAL still holds the pages as they were; a TRUNCATE checkpoint copies the new pages
        // into the database and empties the WAL (it waits for readers; retried a few times).
        for (let attempt = 0; attempt < 20; attempt++) {
          try {
            await this.store.onWriter('PRAGMA wal_checkpoint(TRUNCATE)');
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        this.logger?.warn({}, 'erasure: the SQLite WAL could not be checkpointed now; the destroyed keys leave it at the next checkpoint');
      } else if (this.store.kind === 'postgres') {
        // Dead row versions holding the wrapped keys are removed by VACUUM (outside any transaction).
        await sql`VACUUM privacy_keys`.execute(this.store.db);
      }
    } catch (err) {
      this.logger?.warn({ cause: (err as Error).message }, 'erasure: the store could not be compacted now; the destroyed keys are unreadable already and leave the files at the next compaction');
    }
  }

  /** Data keys to seal with, made where missing; erased subjects map to null. */
  private async sealingKeys(subjects: readonly KeySubject[]): Promise<Map<KeySubject, DataKey | null>> {
    const out = new Map<KeySubject, DataKey | null>();
    const missing: KeySubject[] = [];
    for (const s of subjects) {
      const cached = this.sealing.get(s);
      if (cached !== undefined) out.set(s, cached);
      else missing.push(s);
    }
    if (missing.length === 0) return out;
    const found = await this.rowsBySubject(missing);
    const toMake = missing.filter((s) => !found.has(s));
    if (toMake.length > 0) {
      const now = new Date().toISOString();
      const made = await Promise.all(
        toMake.map(async (subject) => {
          const key = randomBytes(KEY_BYTES);
          return { subject, key_id: newKeyId(), wrapped: await this.kek.wrap(key), kek_id: this.kek.id, fingerprint: fingerprint(key), created_at: now, erased_at: null, erasure_id: null };
        }),
      );
      for (let i = 0; i < made.length; i += IN_CHUNK) {
        await this.store.db
          .insertInto('privacy_keys')
          .values(made.slice(i, i + IN_CHUNK))
          .onConflict((oc) => oc.column('subject').doNothing())
          .execute();
      }
      // Another process may have made some at the same moment: the stored row wins.
      for (const [s, r] of await this.rowsBySubject(toMake)) found.set(s, r);
    }
    if (this.sealing.size + missing.length > SEAL_CACHE_LIMIT) this.sealing.clear();
    for (const s of missing) {
      const row = found.get(s);
      const key = row && row.wrapped !== null && row.erased_at === null ? { keyId: row.key_id, key: createSecretKey(await this.kek.unwrap(row.wrapped)) } : null;
      this.sealing.set(s, key);
      out.set(s, key);
    }
    return out;
  }

  private async rowsBySubject(subjects: readonly KeySubject[]) {
    const out = new Map<KeySubject, { key_id: string; wrapped: string | null; erased_at: string | null }>();
    for (let i = 0; i < subjects.length; i += IN_CHUNK) {
      const rows = await this.store.db.selectFrom('privacy_keys').select(['subject', 'key_id', 'wrapped', 'erased_at']).where('subject', 'in', subjects.slice(i, i + IN_CHUNK)).execute();
      for (const r of rows) out.set(r.subject, r);
    }
    return out;
  }

  /** Keys to open with, by key id, straight from the store (an erasure anywhere counts at once). */
  private async readingKeys(keyIds: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (let i = 0; i < keyIds.length; i += IN_CHUNK) {
      const rows = await this.store.db.selectFrom('privacy_keys').select(['key_id', 'wrapped', 'kek_id']).where('key_id', 'in', keyIds.slice(i, i + IN_CHUNK)).where('wrapped', 'is not', null).execute();
      for (const r of rows) {
        if (r.kek_id !== this.kek.id) continue;
        out.set(r.key_id, await this.kek.unwrap(r.wrapped!));
      }
    }
    return out;
  }
}

function newKeyId(): string {
  return b64url(randomBytes(12));
}

function fingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function keyIdOf(sealed: string): string {
  return sealed.slice(SEALED_PREFIX.length, sealed.indexOf(':', SEALED_PREFIX.length));
}

function valueAt(data: Record<string, unknown>, path: string): unknown {
  const dot = path.indexOf('.');
  if (dot < 0) return data[path];
  return (data[path.slice(0, dot)] as Record<string, unknown>)[path.slice(dot + 1)];
}
