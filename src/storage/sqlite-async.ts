/**
 * Promise wrappers over the callback API of the `sqlite3` package, only the
 * calls SqliteStorage makes. Every call passes a callback: without one,
 * sqlite3 reports errors as an 'error' event, which would crash the process
 * when nobody listens.
 */
import { Database, Statement } from 'sqlite3';

export function openDatabase(path: string): Promise<Database> {
  return new Promise((resolve, reject) => {
    const db: Database = new Database(path, (err) => (err ? reject(err) : resolve(db)));
  });
}

export function closeDatabase(db: Database): Promise<void> {
  return new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
}

export function exec(db: Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

export function run(db: Database, sql: string, params: readonly unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
}

export function all<R>(db: Database, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  return new Promise((resolve, reject) => db.all<R>(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
}

/**
 * Streams rows to `onRow` without holding the whole result in memory. An
 * exception thrown by `onRow` rejects the promise (once the statement ends)
 * instead of escaping from sqlite3's native callback.
 */
export function each<R>(db: Database, sql: string, onRow: (row: R) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let failure: unknown = null;
    db.each<R>(
      sql,
      [],
      (err, row) => {
        if (err !== null || failure !== null) {
          failure ??= err;
          return;
        }
        try {
          onRow(row);
        } catch (e) {
          failure = e;
        }
      },
      (err, count) => {
        if (err !== null) reject(err);
        else if (failure !== null) reject(failure);
        else resolve(count);
      },
    );
  });
}

export function prepare(db: Database, sql: string): Promise<Statement> {
  return new Promise((resolve, reject) => {
    const stmt: Statement = db.prepare(sql, (err) => (err ? reject(err) : resolve(stmt)));
  });
}

export function runStatement(stmt: Statement, params: readonly unknown[]): Promise<void> {
  return new Promise((resolve, reject) => stmt.run(params, (err) => (err ? reject(err) : resolve())));
}

export function finalize(stmt: Statement): Promise<void> {
  // sqlite3 calls back with no argument on success, despite its typings.
  return new Promise((resolve, reject) => stmt.finalize((err?: Error) => (err ? reject(err) : resolve())));
}
