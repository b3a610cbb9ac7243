//! The `sqlite` MetaDB: a table of an SQLite file, read-only, queried for the samples asked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use app::model::session::{ColumnKind, Geodata, Value};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{
    GeoParams, IDS_PER_STATEMENT, MetaDb, MetaDbConfig, MetaDbError, SqlTable, batch_from_rows,
    blocking,
};
use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{Context, Kind, Params};

/// `type = "sqlite"`: a table of an SQLite file.
pub const KIND: Kind<dyn MetaDbConfig> = Kind {
    names: &["sqlite"],
    read,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SqliteParams {
    path: PathBuf,
    table: String,
    idx: String,
    #[serde(default)]
    geodata: Option<GeoParams>,
}

/// An SQLite table as a database configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub path: PathBuf,
    pub table: String,
    /// The id column.
    pub idx: String,
    pub geodata: Option<Geodata>,
}

fn read(params: &Params) -> Result<Arc<dyn MetaDbConfig>, Invalid> {
    let read: SqliteParams = params.read()?;
    Ok(Arc::new(Configured {
        path: params.path(&read.path),
        table: read.table,
        idx: read.idx,
        geodata: read.geodata.map(Geodata::from),
    }))
}

impl MetaDbConfig for Configured {
    fn open<'a>(
        &'a self,
        _: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn MetaDb>, MetaDbError>> {
        let Configured {
            path,
            table,
            idx,
            geodata,
        } = self.clone();
        Box::pin(blocking(move || {
            SqliteMetaDb::open(&path, &table, &idx, geodata)
        }))
    }
}

#[derive(Debug)]
pub struct SqliteMetaDb {
    connection: Arc<Mutex<Connection>>,
    table: SqlTable,
}

impl SqliteMetaDb {
    /// Opens `table` of the SQLite file at `path`; its column `idx` holds sample ids.
    pub fn open(
        path: &Path,
        table: &str,
        idx: &str,
        geodata: Option<Geodata>,
    ) -> Result<SqliteMetaDb, MetaDbError> {
        let fail = |e: &dyn std::fmt::Display| MetaDbError(format!("{}: {e}", path.display()));
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(&e))?;
        let mut columns = Vec::new();
        {
            let mut info = connection
                .prepare("SELECT name, type FROM pragma_table_info(?1)")
                .map_err(|e| fail(&e))?;
            let rows = info
                .query_map([table], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(|e| fail(&e))?;
            for row in rows {
                let (name, declared) = row.map_err(|e| fail(&e))?;
                columns.push((name, kind_of_declared(&declared)));
            }
        }
        if columns.is_empty() {
            return Err(fail(&format!("no table '{table}'")));
        }
        let source = format!("table '{table}' of {}", path.display());
        Ok(SqliteMetaDb {
            connection: Arc::new(Mutex::new(connection)),
            table: SqlTable::new(&columns, table, idx, geodata, '"', &source)?,
        })
    }

    /// Runs `sql` with `params` on the blocking pool, reading `width` columns per row.
    fn rows(
        &self,
        sql: String,
        params: Vec<rusqlite::types::Value>,
        width: usize,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, MetaDbError>> {
        let connection = Arc::clone(&self.connection);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let connection = connection.lock().expect("not poisoned");
                let mut statement = connection.prepare_cached(&sql)?;
                let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
                    (0..width).map(|c| row.get_ref(c).map(value)).collect()
                })?;
                rows.collect::<Result<Vec<Vec<Value>>, _>>()
            })
            .await
            .map_err(|e| MetaDbError(e.to_string()))?
            .map_err(|e| MetaDbError(format!("sqlite: {e}")))
        })
    }
}

/// SQLite's type affinity rules, on the declared column type.
fn kind_of_declared(declared: &str) -> ColumnKind {
    let declared = declared.to_ascii_uppercase();
    if declared.contains("INT") {
        ColumnKind::Integer
    } else if declared.contains("BOOL") {
        ColumnKind::Boolean
    } else if ["REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"]
        .iter()
        .any(|t| declared.contains(t))
    {
        ColumnKind::Float
    } else {
        ColumnKind::Text
    }
}

fn value(cell: ValueRef<'_>) -> Value {
    match cell {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

impl MetaDb for SqliteMetaDb {
    fn schema(&self) -> SchemaRef {
        self.table.schema.clone()
    }

    fn geodata(&self) -> Option<&Geodata> {
        self.table.geodata.as_ref()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, MetaDbError>> {
        Box::pin(async move {
            let rows = self.rows(self.table.count_sql(), Vec::new(), 1).await?;
            self.table.count_of(&rows, "sqlite")
        })
    }

    fn fetch<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<RecordBatch, MetaDbError>> {
        Box::pin(async move {
            let width = self.table.schema.fields().len();
            let mut rows = Vec::new();
            for chunk in ids.chunks(IDS_PER_STATEMENT) {
                let params = chunk.iter().map(|id| id.clone().into()).collect();
                rows.extend(
                    self.rows(self.table.fetch_sql(chunk.len()), params, width)
                        .await?,
                );
            }
            batch_from_rows(&self.table.schema, &rows)
        })
    }

    fn page(&self, offset: usize, limit: usize) -> BoxFuture<'_, Result<RecordBatch, MetaDbError>> {
        Box::pin(async move {
            // Past i64::MAX, a cast would wrap negative, which SQLite reads as no offset.
            let int = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            let params = vec![int(limit).into(), int(offset).into()];
            let width = self.table.schema.fields().len();
            let rows = self
                .rows(self.table.page_sql(Some("rowid")), params, width)
                .await?;
            batch_from_rows(&self.table.schema, &rows)
        })
    }
}
