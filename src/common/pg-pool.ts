import { DatabaseError, Pool, PoolConfig } from 'pg';

/**
 * A pg Pool whose connections may die under the service without taking the process with them.
 *
 * pg emits 'error' on a client whose connection is lost (PostgreSQL shut down or restarted, the
 * backend terminated, the network gone). The pool listens on its idle clients, and on a client
 * inside `pool.query`, but not on one checked out with `pool.connect()` (a transaction): an
 * 'error' event with no listener is thrown, and the process exits. Every client of this pool
 * has a listener for its whole life; the loss still reaches the caller, as the rejection of the
 * query it was running or runs next, which the stores answer as StoreUnavailableError.
 */
export function resilientPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', ignore); // an idle client lost: the pool drops it
  pool.on('connect', (client) => client.on('error', ignore)); // a checked-out client lost
  return pool;
}

function ignore(): void {}

/** SQLSTATE classes meaning "cannot reach or use the server now", as opposed to a bad request. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|58|28|3D000|40001|40P01)/;
const UNAVAILABLE_MESSAGE =
  /Connection terminated|not queryable|Cannot use a pool after calling end|timeout exceeded when trying to connect/;

/**
 * Whether an error from pg means the database cannot be reached or used now (worth a 503 and a
 * retry), rather than that the statement was wrong: a server error in one of those SQLSTATE
 * classes, a socket error (ECONNREFUSED, ECONNRESET, …), or one of pg's own connection errors.
 */
export function isPgUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof DatabaseError) return typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code);
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || (error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message));
}
