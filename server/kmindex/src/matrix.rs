//! `matrices/matrix_<p>.cmbf`: one partition of the Bloom filter matrix (kmtricks' bit-matrix
//! file), memory-mapped.
//!
//! A 49-byte little-endian header — `u64` "kmtricks", `u32` I/O version, `u8` lz4 flag, `u64`
//! "bitmat", `u32` bits per row, `u64` first row, `u64` rows, `u32` id, `u32` partition — then
//! `rows` rows of `ceil(bits / 8)` bytes. Presence/absence rows hold one bit per sample, least
//! significant bit first; abundance rows hold `bw` bits per sample, most significant bit first.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::{Error, FieldReader};

const HEADER_LEN: usize = 49;
const KMTRICKS_MAGIC: u64 = u64::from_le_bytes(*b"kmtricks");
const BITMATRIX_MAGIC: u64 = 0x7461_6d74_6962; // "bitmat"

/// One mapped partition.
#[derive(Debug)]
pub struct Matrix {
    map: Mmap,
    row_bytes: usize,
    rows: u64,
}

/// What a partition's header must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// `nb_samples × bw`.
    pub bits: u64,
    /// Rows per partition, from `hash.info`.
    pub rows: u64,
    /// This partition's number.
    pub partition: u32,
}

impl Matrix {
    /// Maps `path` and checks its header and size against `expected`.
    pub fn open(path: &Path, expected: Expected) -> Result<Matrix, Error> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only and index files are not modified while served; this is
        // kmindex's own contract (it maps the same files).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let mut fields = FieldReader::new(path, &map);
        if fields.u64("magic")? != KMTRICKS_MAGIC {
            return Err(fields.error("not a kmtricks file".into()));
        }
        let _version = fields.u32("version")?;
        if fields.u8("compression flag")? != 0 {
            return Err(Error::Unsupported {
                path: path.to_owned(),
                what: "an lz4-compressed matrix".into(),
            });
        }
        if fields.u64("matrix magic")? != BITMATRIX_MAGIC {
            return Err(fields.error("not a kmtricks bit matrix".into()));
        }
        let bits = u64::from(fields.u32("bits")?);
        if bits != expected.bits {
            return Err(fields.error(format!(
                "{bits} bits per row, the registry implies {}",
                expected.bits
            )));
        }
        let _first = fields.u64("first")?;
        let rows = fields.u64("rows")?;
        if rows != expected.rows {
            return Err(fields.error(format!("{rows} rows, hash.info says {}", expected.rows)));
        }
        let _id = fields.u32("id")?;
        let partition = fields.u32("partition")?;
        if partition != expected.partition {
            return Err(fields.error(format!(
                "holds partition {partition}, expected {}",
                expected.partition
            )));
        }
        let row_bytes = bits.div_ceil(8) as usize;
        let want = HEADER_LEN as u64 + rows * row_bytes as u64;
        if map.len() as u64 != want {
            return Err(Error::invalid(
                path,
                format!(
                    "{} bytes, expected {want} for {rows} rows of {row_bytes} bytes",
                    map.len()
                ),
            ));
        }
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        Ok(Matrix {
            map,
            row_bytes,
            rows,
        })
    }

    /// Rows in this partition.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// Row `row` (`row < rows`, as every hash taken modulo the window is).
    pub fn row(&self, row: u64) -> &[u8] {
        debug_assert!(row < self.rows);
        let start = HEADER_LEN + row as usize * self.row_bytes;
        &self.map[start..start + self.row_bytes]
    }

    /// Copies row `row` into `out`, whole 8-byte words long (`out.len()` a multiple of 8, at
    /// least the row): its bytes, then zeros. Rows are read a word at a time, with no call to
    /// `memcpy` for a few bytes; the last rows of the file, where a word would overrun it, are
    /// copied byte by byte.
    #[inline]
    pub fn copy_row(&self, row: u64, out: &mut [u8]) {
        let start = HEADER_LEN + row as usize * self.row_bytes;
        let Some(words) = self.map.get(start..start + out.len()) else {
            out[..self.row_bytes].copy_from_slice(self.row(row));
            out[self.row_bytes..].fill(0);
            return;
        };
        for (i, (to, from)) in out
            .chunks_exact_mut(8)
            .zip(words.chunks_exact(8))
            .enumerate()
        {
            let word = u64::from_le_bytes(from.try_into().expect("8 bytes"));
            let kept = self.row_bytes.saturating_sub(8 * i).min(8);
            let mask = if kept == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * kept)) - 1
            };
            to.copy_from_slice(&(word & mask).to_le_bytes());
        }
    }

    /// The header of a partition file holding `rows` rows of `bits` bits.
    pub fn header(bits: u32, first: u64, rows: u64, partition: u32) -> [u8; HEADER_LEN] {
        let mut header = [0u8; HEADER_LEN];
        header[0..8].copy_from_slice(&KMTRICKS_MAGIC.to_le_bytes());
        header[13..21].copy_from_slice(&BITMATRIX_MAGIC.to_le_bytes());
        header[21..25].copy_from_slice(&bits.to_le_bytes());
        header[25..33].copy_from_slice(&first.to_le_bytes());
        header[33..41].copy_from_slice(&rows.to_le_bytes());
        header[45..49].copy_from_slice(&partition.to_le_bytes());
        header
    }
}
