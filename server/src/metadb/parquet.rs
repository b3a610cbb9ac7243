//! The `parquet` MetaDB: one or more Parquet files with the same columns, held in memory.

use std::fs::File;
use std::path::PathBuf;

use app::model::session::Geodata;
use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{MemoryTable, MetaDbError, normalise};

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
