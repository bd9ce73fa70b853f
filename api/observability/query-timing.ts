// Timed queries: db_queries_total{operation} and db_query_duration_seconds{operation} for every SQL statement the
// app sends — whatever Drizzle builds (selects, inserts, updates, deletes, db.execute, migrations) and the
// BEGIN/COMMIT/ROLLBACK/SAVEPOINT of transactions. Failed statements are counted too.
//
// How: the raw client Drizzle is given is wrapped in a Proxy; Drizzle's internals are not touched.
//   - postgres.js: `sql.unsafe()` (all Drizzle queries), tagged-template calls, `begin`, `savepoint`, `reserve`.
//     A postgres.js query is a lazy Promise subclass that starts when first awaited. The hook attaches with the
//     *native* Promise.prototype.then, which observes the settlement without starting the query or changing what
//     the caller gets (`.values()`, `.raw()` still work on the very same object).
//   - PGlite: `query`, `exec`, `sql`, `transaction` (methods bound to the real instance: PGlite uses #private fields).
//   - Transactions: postgres.js and PGlite send BEGIN/COMMIT themselves, out of reach of a wrapper, so they are
//     timed from the outside: BEGIN = call → callback starts; COMMIT/ROLLBACK = callback settles → call settles.
//     Each is counted as OTHER.
// The duration runs from the app issuing the statement to its result, so waiting for a pooled connection is in it.
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import type { SqlOperation } from './metrics.js';

export interface QueryMetrics {
  dbQueriesTotal: { labels(operation: SqlOperation): { inc(): void } };
  dbQueryDurationSeconds: { labels(operation: SqlOperation): { observe(seconds: number): void } };
}

const verbs = new Set<SqlOperation>(['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

/** Skips whitespace and SQL comments from `from`; returns the index of the next meaningful character. */
function skipInsignificant(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else return i;
  }
}

/** The first SELECT/INSERT/UPDATE/DELETE at parenthesis depth 0 after a WITH: the statement's real verb. */
function verbAfterWith(text: string, from: number): SqlOperation {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"') {
      const close = text.indexOf(ch, i + 1);
      if (close < 0) break;
      i = close;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && /[a-z]/i.test(ch) && !/[\w$]/.test(text[i - 1] ?? ' ')) {
      const word = /^[a-z]+/i.exec(text.slice(i, i + 7))![0].toUpperCase();
      if (verbs.has(word as SqlOperation)) return word as SqlOperation;
    }
  }
  return 'OTHER';
}

function classify(sql: string): SqlOperation {
  let start = skipInsignificant(sql, 0);
  while (sql[start] === '(') start = skipInsignificant(sql, start + 1);
  const word = (/^[a-z]+/i.exec(sql.slice(start, start + 10))?.[0] ?? '').toUpperCase();
  if (verbs.has(word as SqlOperation)) return word as SqlOperation;
  if (word === 'WITH') return verbAfterWith(sql, start + 4);
  return 'OTHER';
}

// Drizzle sends the same few hundred statement texts again and again; classify each once.
const operationCache = new Map<string, SqlOperation>();
const OPERATION_CACHE_LIMIT = 5_000;

/** The SQL verb of a statement: SELECT, INSERT, UPDATE, DELETE (also behind WITH … AS (…)), else OTHER. */
export function sqlOperation(sql: string): SqlOperation {
  let operation = operationCache.get(sql);
  if (operation === undefined) {
    operation = classify(sql);
    if (operationCache.size >= OPERATION_CACHE_LIMIT) operationCache.clear();
    operationCache.set(sql, operation);
  }
  return operation;
}

type Recorder = (operation: SqlOperation, startedMs: number) => void;

function recorder(metrics: QueryMetrics, now: () => number): Recorder {
  const children = new Map<SqlOperation, { count: { inc(): void }; duration: { observe(seconds: number): void } }>();
  return (operation, startedMs) => {
    let child = children.get(operation);
    if (!child) {
      child = { count: metrics.dbQueriesTotal.labels(operation), duration: metrics.dbQueryDurationSeconds.labels(operation) };
      children.set(operation, child);
    }
    child.count.inc();
    child.duration.observe((now() - startedMs) / 1000);
  };
}

const nativeThen = Promise.prototype.then;

/** Records `promise`'s settlement without starting it (postgres.js queries are lazy) or handling it for the caller. */
function observe(promise: PromiseLike<unknown>, operation: SqlOperation, record: Recorder, startedMs: number): void {
  const done = () => record(operation, startedMs);
  nativeThen.call(promise, done, done);
}

/** Times a transaction-like call `run(callback)` whose BEGIN and COMMIT are sent by the driver itself. */
function timeTransaction<T>(
  record: Recorder,
  now: () => number,
  run: (wrappedCallback: (...callbackArgs: unknown[]) => unknown) => Promise<T>,
  callback: (...callbackArgs: unknown[]) => unknown,
  wrapArg: (arg: unknown) => unknown,
  /** BEGIN is closed by COMMIT on success; a postgres.js SAVEPOINT sends nothing on success, ROLLBACK TO on error. */
  sendsStatementOnSuccess: boolean,
): Promise<T> {
  const started = now();
  let bodyEnded: number | undefined;
  let begun = false;
  const result = run((first, ...rest) => {
    begun = true;
    record('OTHER', started); // BEGIN / SAVEPOINT
    const value = callback(wrapArg(first), ...rest);
    const settle = () => {
      bodyEnded = now();
    };
    // postgres.js pipelines an array of queries returned by the callback: hand it back untouched.
    if (Array.isArray(value)) void Promise.allSettled(value).then(settle);
    else void Promise.resolve(value).then(settle, settle);
    return value;
  });
  const finish = (succeeded: boolean) => {
    if (!begun)
      record('OTHER', started); // the BEGIN itself failed
    else if (bodyEnded !== undefined && (sendsStatementOnSuccess || !succeeded)) record('OTHER', bodyEnded); // COMMIT, or ROLLBACK after an error
  };
  nativeThen.call(
    result,
    () => finish(true),
    () => finish(false),
  );
  return result;
}

export interface QueryTimingOptions {
  now?: () => number;
}

const unwrapped = Symbol('uninstrumented client');

/** Wraps a postgres.js client (pool, transaction or reserved connection) so every statement is timed. */
export function instrumentPostgresClient<T extends Sql>(sql: T, metrics: QueryMetrics, options: QueryTimingOptions = {}): T {
  const now = options.now ?? (() => performance.now());
  return wrapPostgres(sql, recorder(metrics, now), now);
}

/** The client behind an instrumented one, for the app's own bookkeeping queries (collectors) that must not be counted. */
export function uninstrumentedPostgresClient<T extends Sql>(sql: T): T {
  return ((sql as unknown as Record<symbol, unknown>)[unwrapped] as T | undefined) ?? sql;
}

function wrapPostgres<T extends Sql>(sql: T, record: Recorder, now: () => number): T {
  const wrapArg = (inner: unknown) => wrapPostgres(inner as Sql, record, now);
  const overrides: Record<string, unknown> = {
    unsafe(query: string, ...rest: unknown[]) {
      const started = now();
      const pending = (sql.unsafe as (...args: unknown[]) => PromiseLike<unknown>)(query, ...rest);
      observe(pending, sqlOperation(query), record, started);
      return pending;
    },
    begin(...args: unknown[]) {
      const callback = args.pop() as (...a: unknown[]) => unknown;
      return timeTransaction(
        record,
        now,
        (wrapped) => (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args, wrapped),
        callback,
        wrapArg,
        true,
      );
    },
    reserve() {
      return sql.reserve().then((reserved) => wrapPostgres(reserved as unknown as Sql, record, now));
    },
  };
  if (typeof (sql as { savepoint?: unknown }).savepoint === 'function') {
    const savepoint = (sql as unknown as { savepoint: (...a: unknown[]) => Promise<unknown> }).savepoint;
    overrides.savepoint = (...args: unknown[]) => {
      const callback = args.pop() as (...a: unknown[]) => unknown;
      return timeTransaction(record, now, (wrapped) => savepoint(...args, wrapped), callback, wrapArg, false);
    };
  }
  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const strings = args[0] as TemplateStringsArray | undefined;
      const started = now();
      const result = Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args);
      // sql`…` is a query; sql(value) is a helper (identifier, values list) and is passed through.
      if (Array.isArray(strings) && 'raw' in strings && result instanceof Promise)
        observe(result, sqlOperation(strings.join('?')), record, started);
      return result;
    },
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) return overrides[property];
      if (property === unwrapped) return target;
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Wraps a PGlite instance so every statement (and transaction) is timed. */
export function instrumentPgliteClient(pglite: PGlite, metrics: QueryMetrics, options: QueryTimingOptions = {}): PGlite {
  const now = options.now ?? (() => performance.now());
  return wrapPglite(pglite, recorder(metrics, now), now) as PGlite;
}

function wrapPglite(target: PGlite | Transaction, record: Recorder, now: () => number): PGlite | Transaction {
  const timed =
    (operationOf: (args: unknown[]) => string, method: (...args: unknown[]) => Promise<unknown>) =>
    (...args: unknown[]) => {
      const started = now();
      const result = method.apply(target, args);
      observe(result, sqlOperation(operationOf(args)), record, started);
      return result;
    };
  const overrides: Record<string, unknown> = {
    query: timed((args) => args[0] as string, target.query as never),
    exec: timed((args) => args[0] as string, target.exec as never),
    sql: timed((args) => (args[0] as TemplateStringsArray).join('?'), target.sql as never),
  };
  if ('transaction' in target) {
    const transaction = target.transaction;
    overrides.transaction = (callback: (tx: Transaction) => unknown) =>
      timeTransaction(
        record,
        now,
        (wrapped) => transaction.call(target, wrapped as never),
        callback as never,
        (tx) => wrapPglite(tx as Transaction, record, now),
        true,
      );
  }
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) return overrides[property];
      const value = Reflect.get(object, property, object);
      // PGlite keeps its state in #private fields: its methods must run with the real instance as `this`.
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
