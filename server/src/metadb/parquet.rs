//! The `parquet` MetaDB: one or more Parquet files with the same columns, held in memory.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use app::model::session::Geodata;
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{GeoParams, MemoryTable, MetaDb, MetaDbConfig, MetaDbError, blocking, normalise};
use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{Context, Kind, Params};

/// `type = "parquet"`: one file or several with the same columns.
pub const KIND: Kind<dyn MetaDbConfig> = Kind {
    names: &["parquet"],
    read,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ParquetParams {
    #[serde(deserialize_with = "one_or_many")]
    files: Vec<PathBuf>,
    idx: String,
    #[serde(default)]
    geodata: Option<GeoParams>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match serde::Deserialize::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Parquet files as a database configures them.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub files: Vec<PathBuf>,
    /// The id column.
    pub idx: String,
    pub geodata: Option<Geodata>,
}

fn read(params: &Params) -> Result<Arc<dyn MetaDbConfig>, Invalid> {
    let read: ParquetParams = params.read()?;
    Ok(Arc::new(Configured {
        files: read.files.iter().map(|f| params.path(f)).collect(),
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
            files,
            idx,
            geodata,
        } = self.clone();
        Box::pin(blocking(move || open(&files, &idx, geodata)))
    }
}

/// Reads `files` one after the other.
pub fn open(
    files: &[PathBuf],
    idx: &str,
    geodata: Option<Geodata>,
) -> Result<MemoryTable, MetaDbError> {
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut schema = None;
    for path in files {
        let fail = |e: &dyn std::fmt::Display| MetaDbError(format!("{}: {e}", path.display()));
        let file = File::open(path).map_err(|e| fail(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| fail(&e))?
            .build()
            .map_err(|e| fail(&e))?;
        for batch in reader {
            let batch = batch.map_err(|e| fail(&e))?;
            let batch = normalise(&batch, idx, geodata.as_ref()).map_err(|e| fail(&e))?;
            match &schema {
                None => schema = Some(batch.schema()),
                Some(first) if *first != batch.schema() => {
                    return Err(fail(&format!(
                        "its columns differ from {}'s",
                        files[0].display()
                    )));
                }
                Some(_) => {}
            }
            batches.push(batch);
        }
    }
    let schema = schema.ok_or_else(|| match files {
        [] => MetaDbError("no parquet files given".into()),
        _ => MetaDbError(format!("{}: no rows", files[0].display())),
    })?;
    let batch = arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| MetaDbError(e.to_string()))?;
    MemoryTable::new(batch, geodata)
}
