//! The `mysql` MetaDB: a table of a MariaDB or MySQL database, queried over a connection pool
//! with prepared statements for the samples asked.

use app::model::session::{ColumnKind, Geodata, Value};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{OptsBuilder, Pool, Row};

use std::sync::Arc;

use super::{
    GeoParams, IDS_PER_STATEMENT, MetaDb, MetaDbConfig, MetaDbError, SqlTable, batch_from_rows,
    quote_identifier,
};
use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{Context, Kind, Params};

/// `type = "mysql"` or `"mariadb"`: a table of a MariaDB or MySQL database.
pub const KIND: Kind<dyn MetaDbConfig> = Kind {
    names: &["mysql", "mariadb"],
    read,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MysqlParams {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    user: String,
    password: String,
    database: String,
    table: String,
    idx: String,
    #[serde(default)]
    geodata: Option<GeoParams>,
}

/// A MariaDB or MySQL table as a database configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub connection: Connection,
    pub table: String,
    /// The id column.
    pub idx: String,
    pub geodata: Option<Geodata>,
}

fn read(params: &Params) -> Result<Arc<dyn MetaDbConfig>, Invalid> {
    let read: MysqlParams = params.read()?;
    Ok(Arc::new(Configured {
        connection: Connection {
            host: read.host,
            port: read.port.unwrap_or(3306),
            user: read.user,
            password: read.password,
            database: read.database,
        },
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
        Box::pin(async move {
            let table = MysqlMetaDb::open(
                &self.connection,
                &self.table,
                &self.idx,
                self.geodata.clone(),
            )
            .await?;
            Ok(Arc::new(table) as Arc<dyn MetaDb>)
        })
    }
}

/// Where and as whom to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
}

#[derive(Debug)]
pub struct MysqlMetaDb {
    pool: Pool,
    table: SqlTable,
    source: String,
}

impl MysqlMetaDb {
    /// Connects and reads the columns of `table`; its column `idx` holds sample ids.
    pub async fn open(
        connection: &Connection,
        table: &str,
        idx: &str,
        geodata: Option<Geodata>,
    ) -> Result<MysqlMetaDb, MetaDbError> {
        let source = format!(
            "table '{table}' of mysql://{}@{}:{}/{}",
            connection.user, connection.host, connection.port, connection.database
        );
        let opts = OptsBuilder::default()
            .ip_or_hostname(connection.host.clone())
            .tcp_port(connection.port)
            .user(Some(connection.user.clone()))
            .pass(Some(connection.password.clone()))
            .db_name(Some(connection.database.clone()));
        let pool = Pool::new(opts);
        let fail = |e: &dyn std::fmt::Display| MetaDbError(format!("{source}: {e}"));
        let mut conn = pool.get_conn().await.map_err(|e| fail(&e))?;
        let probe = conn
            .prep(format!(
                "SELECT * FROM {} WHERE 1 = 0",
                quote_identifier(table, '`')
            ))
            .await
            .map_err(|e| fail(&e))?;
        let columns: Vec<(String, ColumnKind)> = probe
            .columns()
            .iter()
            .map(|c| {
                (
                    c.name_str().into_owned(),
                    kind_of(c.column_type(), c.column_length()),
                )
            })
            .collect();
        drop(conn);
        Ok(MysqlMetaDb {
            pool,
            table: SqlTable::new(&columns, table, idx, geodata, '`', &source)?,
            source,
        })
    }

    async fn rows(
        &self,
        sql: String,
        params: Vec<mysql_async::Value>,
    ) -> Result<Vec<Vec<Value>>, MetaDbError> {
        let fail = |e: mysql_async::Error| MetaDbError(format!("{}: {e}", self.source));
        let mut conn = self.pool.get_conn().await.map_err(fail)?;
        let rows: Vec<Row> = conn.exec(sql, params).await.map_err(fail)?;
        Ok(rows
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(value).collect())
            .collect())
    }
}

fn kind_of(column_type: ColumnType, length: u32) -> ColumnKind {
    use ColumnType::*;
    match column_type {
        // BOOLEAN is TINYINT(1).
        MYSQL_TYPE_TINY if length == 1 => ColumnKind::Boolean,
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => ColumnKind::Integer,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE | MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            ColumnKind::Float
        }
        _ => ColumnKind::Text,
    }
}

/// A binary-protocol value; decimals arrive as text (parsed by the column's kind later).
fn value(cell: mysql_async::Value) -> Value {
    use mysql_async::Value as V;
    match cell {
        V::NULL => Value::Null,
        V::Int(i) => Value::Integer(i),
        V::UInt(u) => i64::try_from(u).map_or(Value::Text(u.to_string()), Value::Integer),
        V::Float(f) => Value::Float(f64::from(f)),
        V::Double(f) => Value::Float(f),
        V::Bytes(bytes) => Value::Text(String::from_utf8_lossy(&bytes).into_owned()),
        V::Date(y, mo, d, h, mi, s, us) => Value::Text(if (h, mi, s, us) == (0, 0, 0, 0) {
            format!("{y:04}-{mo:02}-{d:02}")
        } else {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }),
        V::Time(negative, days, h, m, s, _) => {
            let sign = if negative { "-" } else { "" };
            Value::Text(format!(
                "{sign}{:02}:{m:02}:{s:02}",
                u32::from(h) + days * 24
            ))
        }
    }
}

impl MetaDb for MysqlMetaDb {
    fn schema(&self) -> SchemaRef {
        self.table.schema.clone()
    }

    fn geodata(&self) -> Option<&Geodata> {
        self.table.geodata.as_ref()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, MetaDbError>> {
        Box::pin(async move {
            let rows = self.rows(self.table.count_sql(), Vec::new()).await?;
            self.table.count_of(&rows, &self.source)
        })
    }

    fn fetch<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<RecordBatch, MetaDbError>> {
        Box::pin(async move {
            let mut rows = Vec::new();
            for chunk in ids.chunks(IDS_PER_STATEMENT) {
                let params = chunk.iter().map(|id| id.as_str().into()).collect();
                rows.extend(self.rows(self.table.fetch_sql(chunk.len()), params).await?);
            }
            batch_from_rows(&self.table.schema, &rows)
        })
    }

    fn page(&self, offset: usize, limit: usize) -> BoxFuture<'_, Result<RecordBatch, MetaDbError>> {
        Box::pin(async move {
            // A table has no order of its own: pages follow the ids.
            let params = vec![(limit as u64).into(), (offset as u64).into()];
            let rows = self.rows(self.table.page_sql(None), params).await?;
            batch_from_rows(&self.table.schema, &rows)
        })
    }
}
