// Which database errors mean "the database cannot be reached now" (a restart, a failover, a network fault) rather
// than "this statement failed". The first kind is answered 503 database_unavailable with Retry-After
// (src/api/errors.ts): the request did nothing the client could not retry, and the client should come back. Anything
// else stays a fault (500), so a real bug is never hidden as an outage.
//
// Both drivers reach here through drizzle, which wraps the driver's error in a DrizzleQueryError (the original is
// its `cause`); Node's socket errors can come as an AggregateError (one per address tried). PGlite runs in this
// process and has no connection to lose: only its SQLSTATEs can match.

/** SQLSTATEs that say the server is going away or not yet accepting work (PostgreSQL, Appendix A). */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: a fast or smart shutdown terminated the session
  '57P02', // crash_shutdown: another backend crashed, every session is reset
  '57P03', // cannot_connect_now: starting up, shutting down, or in recovery
  '57P05', // idle_session_timeout: the server closed an idle pooled session
  '53300', // too_many_connections: every slot is taken while clients reconnect after a restart
]);

/** Class 08, connection exception (08000, 08003, 08006, 08001, 08004, ...). */
const CONNECTION_EXCEPTION_CLASS = '08';

/** postgres.js's own codes for a connection that closed, was ended or destroyed, or never opened in time. */
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/** Node's socket errors for a server that refuses, resets, or cannot be reached. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Whether `err`, or an error it wraps, says the database is unreachable for now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    // A cause chain can be cyclic (an error that names itself); each error is looked at once.
    if (!e || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const { code, cause, errors } = e as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string' && isUnavailableCode(code)) return true;
    if (Array.isArray(errors) && errors.some(visit)) return true;
    return visit(cause);
  };
  return visit(err);
}

function isUnavailableCode(code: string): boolean {
  return (
    UNAVAILABLE_SQLSTATES.has(code) ||
    (code.length === 5 && code.startsWith(CONNECTION_EXCEPTION_CLASS)) ||
    DRIVER_CODES.has(code) ||
    SOCKET_CODES.has(code)
  );
}
