// A small typed face over sql.js (SQLite compiled to WASM): the package ships no types, so the surface we use is
// declared here once and nothing else touches sql.js directly.
import { createRequire } from 'node:module'
import { SessionFormatError } from './errors.ts'

export type SqlValue = number | bigint | string | Uint8Array | null
export type SqlRow = Record<string, SqlValue>

interface SqlJsStatement {
  bind(values?: SqlValue[]): boolean
  step(): boolean
  getAsObject(params?: null, config?: { useBigInt?: boolean }): SqlRow
  free(): boolean
}

interface SqlJsDatabase {
  exec(sql: string): unknown
  run(sql: string, params?: SqlValue[]): unknown
  prepare(sql: string): SqlJsStatement
  export(): Uint8Array
  close(): void
}

interface SqlJsStatic {
  Database: new (data?: Uint8Array) => SqlJsDatabase
}

type InitSqlJs = () => Promise<SqlJsStatic>

let engine: Promise<SqlJsStatic> | null = null

// One WASM instance per thread, loaded on first use (~20 ms).
function sqlJs(): Promise<SqlJsStatic> {
  if (!engine) {
    const init = createRequire(import.meta.url)('sql.js') as InitSqlJs
    engine = init()
    engine.catch(() => {
      engine = null // let a later open() retry
    })
  }
  return engine
}

/** An SQLite database held in memory; `export()` gives the file image to write. */
export class SqliteDb {
  private constructor(private readonly db: SqlJsDatabase) {}

  /** Opens a database image (a file's bytes), or an empty database. Throws if the bytes are not SQLite. */
  static async open(image?: Uint8Array): Promise<SqliteDb> {
    const { Database } = await sqlJs()
    const db = new Database(image)
    try {
      db.exec('SELECT count(*) FROM sqlite_master') // sql.js parses lazily: surface "not a database" here
    } catch (err) {
      db.close()
      throw err
    }
    return new SqliteDb(db)
  }

  exec(sql: string): void {
    this.db.exec(sql)
  }

  /** bigint parameters bind as text; INTEGER column affinity stores them as 64-bit integers. */
  run(sql: string, params: SqlValue[] = []): void {
    this.db.run(sql, params)
  }

  /** Rows with INTEGER values as bigint, so 64-bit ids and access hashes stay exact. */
  all(sql: string, params: SqlValue[] = []): SqlRow[] {
    const stmt = this.db.prepare(sql)
    try {
      stmt.bind(params)
      const rows: SqlRow[] = []
      while (stmt.step()) rows.push(stmt.getAsObject(null, { useBigInt: true }))
      return rows
    } finally {
      stmt.free()
    }
  }

  get(sql: string, params: SqlValue[] = []): SqlRow | undefined {
    return this.all(sql, params)[0]
  }

  /** Runs `fn` in a transaction: all of it lands in the image, or none. */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN')
    try {
      const result = fn()
      this.db.exec('COMMIT')
      return result
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  export(): Uint8Array {
    return this.db.export()
  }

  close(): void {
    this.db.close()
  }
}

/** A session file's bytes opened as SQLite; SessionFormatError (naming the file, not its bytes) when they are not. */
export async function openSessionImage(image: Uint8Array, path: string): Promise<SqliteDb> {
  try {
    return await SqliteDb.open(image)
  } catch (err) {
    throw new SessionFormatError(path, 'not an SQLite database', { cause: err })
  }
}
