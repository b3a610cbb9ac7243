//! The `tsv` MetaDB: a delimited text file (tab by default, comma for `.csv`), column types
//! inferred from the values, held in memory.

use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::Path;
use std::sync::Arc;

use app::model::session::Geodata;
use arrow_csv::reader::{Format, ReaderBuilder};
use arrow_schema::{DataType, Field, Schema};

use super::{MemoryTable, MetaDbError, normalise};

/// Reads `path`, split on `separator` (default: `,` for `.csv` files, tab otherwise).
pub fn open(
    path: &Path,
    idx: &str,
    separator: Option<u8>,
    geodata: Option<Geodata>,
) -> Result<MemoryTable, MetaDbError> {
    let fail = |e: &dyn std::fmt::Display| MetaDbError(format!("{}: {e}", path.display()));
    let separator = separator.unwrap_or(
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            b','
        } else {
            b'\t'
        },
    );
    let mut file = BufReader::new(File::open(path).map_err(|e| fail(&e))?);
    let format = Format::default()
        .with_header(true)
        .with_delimiter(separator);
    let (inferred, _) = format.infer_schema(&mut file, None).map_err(|e| fail(&e))?;
    // Ids stay text as written ("007" is not 7).
    let schema = Schema::new(
        inferred
            .fields()
            .iter()
            .map(|f| {
                if f.name() == idx {
                    Field::new(idx, DataType::Utf8, true)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    );
    file.rewind().map_err(|e| fail(&e))?;
    let schema = Arc::new(schema);
    let reader = ReaderBuilder::new(Arc::clone(&schema))
        .with_format(format)
        .build(file)
        .map_err(|e| fail(&e))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    let batch = arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| fail(&e))?;
    let batch = normalise(&batch, idx, geodata.as_ref()).map_err(|e| fail(&e))?;
    MemoryTable::new(batch, geodata).map_err(|e| fail(&e))
}
