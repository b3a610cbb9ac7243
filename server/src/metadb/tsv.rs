//! The `tsv` MetaDB: a delimited text file (tab by default, comma for `.csv`), column types
//! inferred from the values, held in memory.

use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::model::session::Geodata;
use arrow_csv::reader::{Format, ReaderBuilder};
use arrow_schema::{DataType, Field, Schema};

use super::{GeoParams, MemoryTable, MetaDb, MetaDbConfig, MetaDbError, blocking, normalise};
use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{Context, Kind, Params};

/// `type = "tsv"` or `"csv"` (comma-separated unless `sep` says otherwise).
pub const KIND: Kind<dyn MetaDbConfig> = Kind {
    names: &["tsv", "csv"],
    read,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TsvParams {
    path: PathBuf,
    idx: String,
    #[serde(default)]
    sep: Option<String>,
    #[serde(default)]
    geodata: Option<GeoParams>,
}

/// A delimited file as a database configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub path: PathBuf,
    /// The id column.
    pub idx: String,
    /// `None`: by the file's extension.
    pub separator: Option<u8>,
    pub geodata: Option<Geodata>,
}

fn read(params: &Params) -> Result<Arc<dyn MetaDbConfig>, Invalid> {
    let read: TsvParams = params.read()?;
    let separator = match read.sep.as_deref() {
        None => None,
        Some("\\t") => Some(b'\t'),
        Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
        Some(s) => {
            return Err(Invalid(format!(
                "{}.sep: '{s}' is not one character",
                params.place
            )));
        }
    };
    Ok(Arc::new(Configured {
        path: params.path(&read.path),
        idx: read.idx,
        separator: separator.or((params.kind == "csv").then_some(b',')),
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
            idx,
            separator,
            geodata,
        } = self.clone();
        Box::pin(blocking(move || open(&path, &idx, separator, geodata)))
    }
}

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
