//! MetaDBs: the sample metadata of a database, as Arrow record batches. [`MetaDb`] is the
//! contract; each kind (listed in [`KINDS`]) reads its configuration and opens
//! ([`MetaDbConfig`]): [`tsv`] and [`parquet`] hold their table in memory, [`sqlite`] and
//! [`mysql`] query their database for the samples asked (parameterised); a plugin's MetaDB is
//! [`crate::plugin::metadb`].
//!
//! Every MetaDB answers batches of the same shape: the id column first, named `ID`, as text;
//! the other columns brought to one of four types (64-bit integer, 64-bit float, text,
//! boolean; anything else is rendered as text), in the source's order.

pub mod mysql;
pub mod parquet;
pub mod sqlite;
pub mod tsv;

use std::any::Any;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use app::model::session::{Column, ColumnKind, Geodata, Value};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{self, Context, Kind, Params};

/// The name every MetaDB gives its id column.
pub const ID: &str = "ID";

/// Why a MetaDB failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct MetaDbError(pub String);

/// The built-in kinds of MetaDB.
pub const KINDS: &[Kind<dyn MetaDbConfig>] = &[tsv::KIND, sqlite::KIND, mysql::KIND, parquet::KIND];

/// A MetaDB as a database configures it, opened when the instance starts.
pub trait MetaDbConfig: Debug + Send + Sync + Any {
    fn open<'a>(
        &'a self,
        context: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn MetaDb>, MetaDbError>>;
}

/// Reads the MetaDB of `type = params.kind`: a built-in kind, or the plugin of that name among
/// `plugins`; `None` when there is neither.
pub fn read(params: &Params, plugins: &[String]) -> Option<Result<Arc<dyn MetaDbConfig>, Invalid>> {
    registry::read(KINDS, params, plugins, |plugin, params| {
        Arc::new(crate::plugin::metadb::Configured { plugin, params })
    })
}

/// The latitude and longitude columns, as the built-in kinds' `params` name them.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GeoParams {
    latitude: String,
    longitude: String,
}

impl From<GeoParams> for Geodata {
    fn from(g: GeoParams) -> Geodata {
        Geodata {
            latitude: g.latitude,
            longitude: g.longitude,
        }
    }
}

/// Runs `open` (files, a blocking driver) on the blocking pool.
async fn blocking<T: MetaDb + 'static>(
    open: impl FnOnce() -> Result<T, MetaDbError> + Send + 'static,
) -> Result<Arc<dyn MetaDb>, MetaDbError> {
    let table = tokio::task::spawn_blocking(open)
        .await
        .map_err(|e| MetaDbError(e.to_string()))??;
    Ok(Arc::new(table))
}

/// A table of sample metadata.
pub trait MetaDb: Send + Sync + Debug {
    /// The shape of every batch answered: `ID` first.
    fn schema(&self) -> SchemaRef;

    /// The latitude and longitude columns, when declared.
    fn geodata(&self) -> Option<&Geodata>;

    /// Number of rows.
    fn count(&self) -> BoxFuture<'_, Result<usize, MetaDbError>>;

    /// The rows of the samples `ids` that exist, in no particular order.
    fn fetch<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<RecordBatch, MetaDbError>>;

    /// Rows `offset .. offset + limit`, in the source's order (files: as written; SQLite: by
    /// rowid; MySQL: by id).
    fn page(&self, offset: usize, limit: usize) -> BoxFuture<'_, Result<RecordBatch, MetaDbError>>;
}

/// The metadata columns (all but `ID`) of a MetaDB's schema.
pub fn columns(schema: &Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .skip(1)
        .map(|f| Column {
            name: f.name().clone(),
            kind: column_kind(f.data_type()),
        })
        .collect()
}

fn column_kind(data_type: &DataType) -> ColumnKind {
    match data_type {
        DataType::Int64 => ColumnKind::Integer,
        DataType::Float64 => ColumnKind::Float,
        DataType::Boolean => ColumnKind::Boolean,
        _ => ColumnKind::Text,
    }
}

/// The Arrow type of a column kind.
pub fn data_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Integer => DataType::Int64,
        ColumnKind::Float => DataType::Float64,
        ColumnKind::Boolean => DataType::Boolean,
        ColumnKind::Text => DataType::Utf8,
    }
}

/// Reads rows of a normalised batch's columns as values, each column's type looked up once
/// (the join reads every cell of every hit's row).
#[derive(Debug)]
pub struct Rows<'a>(Vec<Cells<'a>>);

#[derive(Debug)]
enum Cells<'a> {
    Integer(&'a Int64Array),
    Float(&'a Float64Array),
    Boolean(&'a BooleanArray),
    Text(&'a StringArray),
    Other,
}

impl<'a> Rows<'a> {
    pub fn new(columns: &'a [ArrayRef]) -> Rows<'a> {
        Rows(
            columns
                .iter()
                .map(|column| {
                    let any = column.as_any();
                    if let Some(a) = any.downcast_ref() {
                        Cells::Integer(a)
                    } else if let Some(a) = any.downcast_ref() {
                        Cells::Float(a)
                    } else if let Some(a) = any.downcast_ref() {
                        Cells::Boolean(a)
                    } else if let Some(a) = any.downcast_ref() {
                        Cells::Text(a)
                    } else {
                        Cells::Other
                    }
                })
                .collect(),
        )
    }

    /// The values of row `row`, column by column.
    pub fn row(&self, row: usize) -> Vec<Value> {
        self.0
            .iter()
            .map(|cells| match cells {
                Cells::Integer(a) if a.is_valid(row) => Value::Integer(a.value(row)),
                Cells::Float(a) if a.is_valid(row) => Value::Float(a.value(row)),
                Cells::Boolean(a) if a.is_valid(row) => Value::Boolean(a.value(row)),
                Cells::Text(a) if a.is_valid(row) => Value::Text(a.value(row).to_owned()),
                _ => Value::Null,
            })
            .collect()
    }
}

/// Brings a source's batch to the MetaDB shape: column `idx` renamed `ID`, made text and moved
/// first; other columns brought to the four types. Checks the geodata columns exist and are
/// numbers (integers become floats).
pub fn normalise(
    batch: &RecordBatch,
    idx: &str,
    geodata: Option<&Geodata>,
) -> Result<RecordBatch, MetaDbError> {
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let id_at = names.iter().position(|n| *n == idx).ok_or_else(|| {
        MetaDbError(format!(
            "no id column '{idx}'; the columns are: {}",
            names.join(", ")
        ))
    })?;
    if idx != ID && names.contains(&ID) {
        return Err(MetaDbError(format!(
            "a column is named '{ID}' besides the id column '{idx}'; kmviz names the id column \
             '{ID}': rename the other one"
        )));
    }
    let geo_columns: Vec<&str> = geodata
        .map(|g| vec![g.latitude.as_str(), g.longitude.as_str()])
        .unwrap_or_default();
    for name in &geo_columns {
        if !names.contains(name) {
            return Err(MetaDbError(format!(
                "no geodata column '{name}'; the columns are: {}",
                names.join(", ")
            )));
        }
    }
    let mut fields = vec![Field::new(ID, DataType::Utf8, true)];
    let mut arrays = vec![to_type(batch.column(id_at), &DataType::Utf8, idx)?];
    for (i, field) in schema.fields().iter().enumerate() {
        if i == id_at {
            continue;
        }
        let column = batch.column(i);
        let target = if geo_columns.contains(&field.name().as_str()) {
            if !matches!(
                normal_type(field.data_type()),
                DataType::Int64 | DataType::Float64
            ) {
                return Err(MetaDbError(format!(
                    "geodata column '{}' holds {}, not numbers",
                    field.name(),
                    field.data_type()
                )));
            }
            DataType::Float64
        } else {
            normal_type(field.data_type())
        };
        fields.push(Field::new(field.name(), target.clone(), true));
        arrays.push(to_type(column, &target, field.name())?);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| MetaDbError(e.to_string()))
}

fn normal_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => DataType::Int64,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DataType::Float64,
        DataType::Boolean => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// `batch` (normalised) in the columns and types of `schema`: columns it lacks are null, others
/// are dropped. For sources whose answers may type a column differently from one call to the
/// next (a plugin inferring types from the rows it returns).
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, MetaDbError> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) => to_type(column, field.data_type(), field.name()),
            None => Ok(arrow_array::new_null_array(
                field.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<Result<_, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| MetaDbError(e.to_string()))
}

fn to_type(column: &ArrayRef, target: &DataType, name: &str) -> Result<ArrayRef, MetaDbError> {
    if column.data_type() == target {
        return Ok(Arc::clone(column));
    }
    arrow_cast::cast(column, target).map_err(|e| {
        MetaDbError(format!(
            "column '{name}' ({}) cannot be read as {target}: {e}",
            column.data_type()
        ))
    })
}

/// A normalised table held in memory, with its rows indexed by id.
#[derive(Debug)]
pub struct MemoryTable {
    batch: RecordBatch,
    rows: HashMap<String, u32>,
    geodata: Option<Geodata>,
}

impl MemoryTable {
    /// Indexes a normalised batch; refuses missing and repeated ids.
    pub fn new(batch: RecordBatch, geodata: Option<Geodata>) -> Result<MemoryTable, MetaDbError> {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("normalised: ID is text");
        let mut rows = HashMap::with_capacity(ids.len());
        for row in 0..ids.len() {
            if ids.is_null(row) {
                return Err(MetaDbError(format!("row {} has no id", row + 1)));
            }
            if let Some(first) = rows.insert(ids.value(row).to_owned(), row as u32) {
                return Err(MetaDbError(format!(
                    "sample '{}' is on rows {} and {}; ids must be unique",
                    ids.value(row),
                    first + 1,
                    row + 1
                )));
            }
        }
        Ok(MemoryTable {
            batch,
            rows,
            geodata,
        })
    }

    fn take(&self, rows: Vec<u32>) -> Result<RecordBatch, MetaDbError> {
        arrow_select::take::take_record_batch(&self.batch, &UInt32Array::from(rows))
            .map_err(|e| MetaDbError(e.to_string()))
    }
}

impl MetaDb for MemoryTable {
    fn schema(&self) -> SchemaRef {
        self.batch.schema()
    }

    fn geodata(&self) -> Option<&Geodata> {
        self.geodata.as_ref()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, MetaDbError>> {
        let rows = self.batch.num_rows();
        Box::pin(async move { Ok(rows) })
    }

    fn fetch<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<RecordBatch, MetaDbError>> {
        let rows = ids
            .iter()
            .filter_map(|id| self.rows.get(id).copied())
            .collect();
        Box::pin(async move { self.take(rows) })
    }

    fn page(&self, offset: usize, limit: usize) -> BoxFuture<'_, Result<RecordBatch, MetaDbError>> {
        let start = offset.min(self.batch.num_rows());
        let len = limit.min(self.batch.num_rows() - start);
        let page = self.batch.slice(start, len);
        Box::pin(async move { Ok(page) })
    }
}

/// Builds a normalised batch from rows of values read from a SQL database.
pub fn batch_from_rows(
    schema: &SchemaRef,
    rows: &[Vec<Value>],
) -> Result<RecordBatch, MetaDbError> {
    let arrays: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, field)| -> ArrayRef {
            let cells = rows.iter().map(|row| &row[c]);
            match field.data_type() {
                DataType::Int64 => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Integer(i) => Some(*i),
                            Value::Text(t) => t.trim().parse().ok(),
                            _ => None,
                        })
                        .collect::<Int64Array>(),
                ),
                DataType::Float64 => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Float(f) => Some(*f),
                            Value::Integer(i) => Some(*i as f64),
                            Value::Text(t) => t.trim().parse().ok(),
                            _ => None,
                        })
                        .collect::<Float64Array>(),
                ),
                DataType::Boolean => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Boolean(b) => Some(*b),
                            Value::Integer(i) => Some(*i != 0),
                            _ => None,
                        })
                        .collect::<BooleanArray>(),
                ),
                _ => Arc::new(
                    cells
                        .map(|v| match v {
                            Value::Null => None,
                            Value::Text(s) => Some(s.clone()),
                            Value::Integer(i) => Some(i.to_string()),
                            Value::Float(f) => Some(f.to_string()),
                            Value::Boolean(b) => Some(b.to_string()),
                        })
                        .collect::<StringArray>(),
                ),
            }
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), arrays).map_err(|e| MetaDbError(e.to_string()))
}

/// What the SQL MetaDBs share whatever their driver: the schema and the statements, with
/// identifiers quoted by `quote`.
#[derive(Debug)]
pub struct SqlTable {
    pub schema: SchemaRef,
    pub geodata: Option<Geodata>,
    /// `SELECT` list in schema order.
    select: String,
    from: String,
    id_column: String,
}

/// Ids per `IN (...)` statement (SQLite allows 32766 parameters, MySQL 65535).
pub const IDS_PER_STATEMENT: usize = 500;

impl SqlTable {
    /// The table `table` with columns `(name, kind)` whose column `idx` holds ids; `source`
    /// names it in errors.
    pub fn new(
        columns: &[(String, ColumnKind)],
        table: &str,
        idx: &str,
        geodata: Option<Geodata>,
        quote: char,
        source: &str,
    ) -> Result<SqlTable, MetaDbError> {
        let (schema, order) = sql_schema(columns, idx, geodata.as_ref(), source)?;
        let select = order
            .iter()
            .map(|&i| quote_identifier(&columns[i].0, quote))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(SqlTable {
            schema,
            geodata,
            select,
            from: quote_identifier(table, quote),
            id_column: quote_identifier(idx, quote),
        })
    }

    pub fn count_sql(&self) -> String {
        format!("SELECT COUNT(*) FROM {}", self.from)
    }

    /// The rows of `n` ids, given as `?` parameters.
    pub fn fetch_sql(&self, n: usize) -> String {
        let marks = vec!["?"; n].join(", ");
        format!(
            "SELECT {} FROM {} WHERE {} IN ({marks})",
            self.select, self.from, self.id_column
        )
    }

    /// A page ordered by `order` (`rowid`, or the id column when `None`), with `LIMIT ?` and
    /// `OFFSET ?` parameters.
    pub fn page_sql(&self, order: Option<&str>) -> String {
        format!(
            "SELECT {} FROM {} ORDER BY {} LIMIT ? OFFSET ?",
            self.select,
            self.from,
            order.unwrap_or(&self.id_column)
        )
    }

    /// The count a `count_sql` statement answered.
    pub fn count_of(&self, rows: &[Vec<Value>], source: &str) -> Result<usize, MetaDbError> {
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => Ok(*n as usize),
            _ => Err(MetaDbError(format!(
                "{source}: COUNT(*) answered no number"
            ))),
        }
    }
}

/// The MetaDB schema for SQL columns `(name, kind)`, with `idx` renamed `ID` and first, and
/// the source's column order for it.
fn sql_schema(
    columns: &[(String, ColumnKind)],
    idx: &str,
    geodata: Option<&Geodata>,
    source: &str,
) -> Result<(SchemaRef, Vec<usize>), MetaDbError> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let id_at = names.iter().position(|n| *n == idx).ok_or_else(|| {
        MetaDbError(format!(
            "{source} has no id column '{idx}'; its columns are: {}",
            names.join(", ")
        ))
    })?;
    if idx != ID && names.contains(&ID) {
        return Err(MetaDbError(format!(
            "{source} has a column named '{ID}' besides the id column '{idx}'; rename one"
        )));
    }
    let geo: Vec<&str> = geodata
        .map(|g| vec![g.latitude.as_str(), g.longitude.as_str()])
        .unwrap_or_default();
    for name in &geo {
        match columns.iter().find(|(n, _)| n == name) {
            None => {
                return Err(MetaDbError(format!(
                    "{source} has no geodata column '{name}'; its columns are: {}",
                    names.join(", ")
                )));
            }
            Some((_, ColumnKind::Integer | ColumnKind::Float)) => {}
            Some(_) => {
                return Err(MetaDbError(format!(
                    "geodata column '{name}' of {source} does not hold numbers"
                )));
            }
        }
    }
    let mut order = vec![id_at];
    order.extend((0..columns.len()).filter(|&i| i != id_at));
    let fields: Vec<Field> = order
        .iter()
        .map(|&i| {
            let (name, kind) = &columns[i];
            if i == id_at {
                Field::new(ID, DataType::Utf8, true)
            } else if geo.contains(&name.as_str()) {
                Field::new(name, DataType::Float64, true)
            } else {
                Field::new(name, data_type(*kind), true)
            }
        })
        .collect();
    Ok((Arc::new(Schema::new(fields)), order))
}

/// Quotes an SQL identifier with `quote`, doubling it inside.
pub fn quote_identifier(name: &str, quote: char) -> String {
    let doubled = name.replace(quote, &format!("{quote}{quote}"));
    format!("{quote}{doubled}{quote}")
}
