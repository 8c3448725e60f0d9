// An in-process cache for the public reads (leaderboard, task page, task list) that the database itself keeps true.
//
// Why a cached read cannot hide what the database holds: every statement that changes a table these reads depend on
// (NOTIFYING_TABLES) makes PostgreSQL send a notification on CHANGE_CHANNEL at commit, whoever wrote it: this
// process, another API process, or a person editing the database by hand (db/migrations/0001_read-cache-notify.sql).
// Each notification bumps a generation counter, and an entry is served only while the generation it was filled under
// is still current. The generation is read BEFORE the fill's queries start, so a change committed while a slow fill
// runs moves the generation past it and the fill's result, which may mix data from before and after the change, is
// never served as current. Notifications are lost while the listening connection is down, so losing it turns the
// cache off and listening again invalidates everything. What remains is the delivery delay: a read can show the
// previous state until PostgreSQL has delivered the notification, normally well under a millisecond to a few ms after
// the commit. This process's own writes invalidate as they end, before their callers answer anyone, so a client
// always reads its own writes (docs/operators.md, "Read cache").
import { createHash } from 'node:crypto';
import type { ChangeHandlers, Database, Unlisten } from '../../../db/client.ts';
import { countReadCacheInvalidation, countReadCacheLookup, type ReadCacheInvalidation } from '../instruments.ts';

export const CHANGE_CHANNEL = 'proofboard_changed';

/** The tables whose changes notify (one trigger each); a cached read may depend on these and nothing else. */
export const NOTIFYING_TABLES = ['tasks', 'claims', 'verdicts'] as const;

/** Entries kept at most; the oldest-used goes first. Keys come from known tasks only, so this is a backstop. */
export const DEFAULT_MAX_ENTRIES = 512;

type Entry = { generation: number; value: unknown };
type Fill = { generation: number; promise: Promise<unknown> };

export type ReadCacheStats = { hits: number; misses: number; off: number; invalidations: number };

export class ReadCache {
  #generation = 0;
  #listening = false;
  readonly #entries = new Map<string, Entry>();
  readonly #fills = new Map<string, Fill>();
  readonly #stats: ReadCacheStats = { hits: 0, misses: 0, off: 0, invalidations: 0 };

  constructor(readonly maxEntries = DEFAULT_MAX_ENTRIES) {}

  /** Bumped on every change notification and every (re)listen; entries of an older generation are never served. */
  get generation(): number {
    return this.#generation;
  }

  /** Whether reads are cached: only while change notifications are known to arrive. */
  get active(): boolean {
    return this.#listening;
  }

  get size(): number {
    return this.#entries.size;
  }

  stats(): ReadCacheStats {
    return { ...this.#stats };
  }

  /** Something may have changed: nothing cached so far is current. */
  invalidate(cause: ReadCacheInvalidation): void {
    this.#generation++;
    this.#entries.clear();
    this.#stats.invalidations++;
    countReadCacheInvalidation(cause);
  }

  /** Listening (again). Notifications sent while nobody listened are lost, so everything may have changed. */
  resume(): void {
    this.invalidate('listen');
    this.#listening = true;
  }

  /** Notifications stopped arriving: serve nothing from memory until resume(). */
  suspend(): void {
    this.#listening = false;
    this.invalidate('lost');
  }

  /** Handlers for Database.listen: notifications and this process's own writes invalidate. */
  handlers(): ChangeHandlers {
    return {
      onNotify: () => this.invalidate('notification'),
      onOwnWrite: () => this.invalidate('own_write'),
      onListen: () => this.resume(),
      onLost: () => this.suspend(),
    };
  }

  /** Starts listening on the database; until the first onListen (and without a listener at all) nothing is cached. */
  async listenTo(database: Pick<Database, 'listen'>): Promise<Unlisten> {
    if (!database.listen) return async () => {};
    const unlisten = await database.listen(CHANGE_CHANNEL, this.handlers());
    return async () => {
      this.suspend();
      await unlisten();
    };
  }

  /**
   * The value of `fill` for `key` at the current generation: from memory when an entry of this generation exists,
   * else from `fill` (concurrent misses at one generation share one fill). Values are shared between callers: treat
   * them as read-only, and never cache anything that depends on the clock (apply the time after the cache).
   */
  async read<T>(key: string, fill: () => Promise<T>): Promise<T> {
    if (!this.#listening) {
      this.#stats.off++;
      countReadCacheLookup('off');
      return fill();
    }
    const generation = this.#generation;
    const entry = this.#entries.get(key);
    if (entry && entry.generation === generation) {
      this.#stats.hits++;
      countReadCacheLookup('hit');
      // Map order is insertion order: moving a used entry to the end makes eviction drop the least recently used.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      return entry.value as T;
    }
    const running = this.#fills.get(key);
    if (running && running.generation === generation) {
      this.#stats.hits++;
      countReadCacheLookup('hit');
      return running.promise as Promise<T>;
    }
    this.#stats.misses++;
    countReadCacheLookup('miss');
    const promise = fill();
    const record: Fill = { generation, promise };
    this.#fills.set(key, record);
    try {
      const value = await promise;
      // A change seen while the fill ran (or a lost listener) moved the generation: return the value to this caller,
      // who asked before the change was known, but do not store it as current.
      if (this.#listening && this.#generation === generation) this.#store(key, { generation, value: deepFreeze(value) });
      return value;
    } finally {
      if (this.#fills.get(key) === record) this.#fills.delete(key);
    }
  }

  #store(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

/** A shared value that a reader mutated would change every other reader's answer: make that an error instead. */
function deepFreeze<T>(value: T): T {
  // Iterative: cached views hold client evidence, which a recursive walk must not trust to be shallow.
  const todo: unknown[] = [value];
  while (todo.length > 0) {
    const next = todo.pop();
    if (next && typeof next === 'object' && !Object.isFrozen(next)) {
      Object.freeze(next);
      for (const v of Object.values(next)) todo.push(v);
    }
  }
  return value;
}

/** A cached read through the context's cache, or a plain read where the context has none. */
export function cachedRead<T>(ctx: { readCache?: ReadCache }, key: string, fill: () => Promise<T>): Promise<T> {
  return ctx.readCache ? ctx.readCache.read(key, fill) : fill();
}

/** A JSON body serialized once, with a strong ETag over its bytes (the same across restarts and API processes). */
export type JsonBody = { body: string; etag: string };

export function toJsonBody(value: unknown): JsonBody {
  const body = JSON.stringify(value);
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` };
}

/** Whether an If-None-Match header names this ETag (RFC 9110 §13.1.2: weak comparison, "*" matches any). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const strip = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || strip(tag) === strip(etag);
  });
}
