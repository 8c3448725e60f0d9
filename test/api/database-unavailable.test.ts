// Connection-class database errors, from either driver and however drizzle wraps them, are a 503
// database_unavailable with Retry-After; every other fault stays a 500, so a bug is never reported as an outage.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../db/connection-errors.ts';
import { DATABASE_RETRY_AFTER_SECONDS, toErrorResponse } from '../../src/api/errors.ts';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
/** The shape drizzle throws: its own error, the driver's as `cause`. */
const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: insert into "claims" ...'), { name: 'DrizzleQueryError', cause });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['postgres.js, connection closed', coded('CONNECTION_CLOSED', 'write CONNECTION_CLOSED 127.0.0.1:5432')],
    ['postgres.js, pool ended', coded('CONNECTION_ENDED')],
    ['postgres.js, connection destroyed', coded('CONNECTION_DESTROYED')],
    ['postgres.js, connect timeout', coded('CONNECT_TIMEOUT')],
    ['refused', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['reset', coded('ECONNRESET')],
    ['57P01 admin_shutdown', coded('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', coded('57P02')],
    ['57P03 cannot_connect_now', coded('57P03', 'the database system is starting up')],
    ['08006 connection_failure', coded('08006')],
    ['08001 sqlclient_unable_to_establish_sqlconnection', coded('08001')],
  ])('%s, bare and wrapped by drizzle', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(isDatabaseUnavailable(wrapped(err))).toBe(true);
  });

  it('finds a refusal inside an AggregateError (one per address tried)', () => {
    expect(isDatabaseUnavailable(wrapped(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect failed')))).toBe(true);
  });

  it.each([
    ['a unique violation', wrapped(coded('23505', 'duplicate key value violates unique constraint'))],
    ['a syntax error', wrapped(coded('42601'))],
    ['a serialization failure', wrapped(coded('40001'))],
    ['a plain error', new Error('boom')],
    ['a string', 'CONNECTION_CLOSED'],
    ['nothing', undefined],
  ])('not %s', (_, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('stops on a cyclic cause chain', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = wrapped(a);
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe('toErrorResponse', () => {
  const answer = async (err: unknown) => {
    const logged: unknown[] = [];
    const app = new Hono();
    app.get('/', () => {
      throw err;
    });
    app.onError((e, c) => toErrorResponse(e, c, (x) => logged.push(x)));
    const res = await app.request('/');
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { error: { code: string } }, logged };
  };

  it('answers a lost database 503 database_unavailable with Retry-After, not logged as a fault', async () => {
    const r = await answer(wrapped(coded('57P01')));
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('database_unavailable');
    expect(r.retryAfter).toBe(String(DATABASE_RETRY_AFTER_SECONDS));
    expect(r.logged).toEqual([]);
  });

  it('keeps any other database fault a logged 500', async () => {
    const r = await answer(wrapped(coded('23505')));
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('internal');
    expect(r.logged).toHaveLength(1);
  });
});
