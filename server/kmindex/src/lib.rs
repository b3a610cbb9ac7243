//! kmindex indexes, read natively and answered exactly as kmindex answers.
//!
//! A kmindex *index* is a directory holding `index.json` (the [`registry`]) and one entry per
//! *sub-index*, usually a symbolic link to a kmtricks run directory. A sub-index is a Bloom
//! filter matrix split into partitions:
//!
//! - [`hash_info`] (`hash.info`): Bloom size, partition count, rows per partition;
//! - [`repartition`] (`repartition_gatb/repartition.minimRepart`): minimizer → partition;
//! - [`matrix`] (`matrices/matrix_<p>.cmbf`): one row per hash value, `nb_samples × bw` bits.
//!
//! A query of length `L` is cut into `L - s + 1` s-mers ([`smer`]): each canonical s-mer goes to
//! the partition of its minimizer and to the row of its xxHash64. With findere's `z`, a k-mer
//! (`k = s + z`) is present where its `z + 1` s-mers all are; [`result`] turns the rows into
//! kmindex's ratios, abundance classes and per-k-mer vectors, and [`output`] writes them in
//! kmindex's own formats, byte for byte ([`json`], [`number`]). [`request`] is kmindex-server's
//! query API over the same engine.
//!
//! Files are memory-mapped once when a sub-index is opened and stay mapped for the life of the
//! process; queries only read them, so any number can run at once.

pub mod build;
pub mod hash_info;
pub mod index;
pub mod json;
pub mod matrix;
pub mod number;
pub mod output;
pub mod registry;
pub mod repartition;
pub mod request;
pub mod result;
pub mod smer;
pub mod sub_index;

use std::path::{Path, PathBuf};

pub use index::Index;
pub use output::Format;
pub use result::QueryResult;
pub use sub_index::{QueryError, SubIndex};

/// Why an index could not be opened. Every variant names the file; format errors name the
/// byte offset too.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {what} (byte {offset})", path.display())]
    Format {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{}: {what}", path.display())]
    Invalid { path: PathBuf, what: String },
    #[error("{}: {what} is not supported", path.display())]
    Unsupported { path: PathBuf, what: String },
}

impl Error {
    fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn invalid(path: &Path, what: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.to_owned(),
            what: what.into(),
        }
    }
}

/// Little-endian fields read one after another from a binary file, with errors that say where.
struct FieldReader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> FieldReader<'a> {
    fn new(path: &'a Path, bytes: &'a [u8]) -> Self {
        FieldReader {
            path,
            bytes,
            offset: 0,
        }
    }

    fn take<const N: usize>(&mut self, field: &str) -> Result<[u8; N], Error> {
        let Some(slice) = self.bytes.get(self.offset..self.offset + N) else {
            return Err(self.error(format!(
                "file ends before {field} ({N} bytes expected, {} left)",
                self.bytes.len().saturating_sub(self.offset)
            )));
        };
        self.offset += N;
        Ok(slice.try_into().expect("slice of N bytes"))
    }

    fn slice(&mut self, len: usize, field: &str) -> Result<&'a [u8], Error> {
        let Some(slice) = self.bytes.get(self.offset..self.offset + len) else {
            return Err(self.error(format!(
                "file ends within {field} ({len} bytes expected, {} left)",
                self.bytes.len().saturating_sub(self.offset)
            )));
        };
        self.offset += len;
        Ok(slice)
    }

    fn u8(&mut self, field: &str) -> Result<u8, Error> {
        Ok(self.take::<1>(field)?[0])
    }

    fn u16(&mut self, field: &str) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.take(field)?))
    }

    fn u32(&mut self, field: &str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }

    fn u64(&mut self, field: &str) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }

    /// An error about the field that ends at the current offset.
    fn error(&self, what: String) -> Error {
        Error::Format {
            path: self.path.to_owned(),
            offset: self.offset as u64,
            what,
        }
    }
}
