// Versioned schema for a Durable Object's SQLite storage: the `schema_version` row says which
// migrations ran; `migrate` applies the missing ones in order, in one transaction.

export interface Migration {
  /** 1, 2, 3... in order; never edit a released migration, add the next one. */
  version: number;
  statements: readonly string[];
}

const VERSION_TABLE =
  "CREATE TABLE IF NOT EXISTS schema_version (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), version INTEGER NOT NULL)";

/** Whether this object's storage has a schema at all (a read that finds none need not create one). */
export function hasSchema(sql: SqlStorage): boolean {
  return (
    sql.exec("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").toArray()
      .length > 0
  );
}

/** Brings the schema up to the last migration. Returns the version. Throws on a schema newer than the code. */
export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): number {
  const latest = migrations.length;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i} has version ${m.version}, expected ${i + 1}`);
  });
  return storage.transactionSync(() => {
    storage.sql.exec(VERSION_TABLE);
    const row = storage.sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
    const current = row?.version ?? 0;
    if (current > latest) {
      // Code older than the data (a rollback): refuse rather than misread newer tables.
      throw new Error(`storage schema version ${current} is newer than this code (${latest})`);
    }
    for (const m of migrations.slice(current)) {
      for (const statement of m.statements) storage.sql.exec(statement);
    }
    if (current !== latest) {
      storage.sql.exec(
        "INSERT INTO schema_version (singleton, version) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET version = excluded.version",
        latest,
      );
    }
    return latest;
  });
}
