//! One opened sub-index: its registry entry, sizes, repartition table and mapped partitions,
//! and the lookup of a batch of queries.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Error;
use super::hash_info::HashInfo;
use super::matrix::{Expected, Matrix};
use super::registry::Entry;
use super::repartition::Repartition;
use super::result::{Answer, QueryResult, SmerRows};
use super::smer::{MAX_SMER_SIZE, MINIM_SIZES, SmerHasher};

/// A sub-index ready to answer queries.
#[derive(Debug)]
pub struct SubIndex {
    name: String,
    dir: PathBuf,
    entry: Entry,
    hash: HashInfo,
    repartition: Repartition,
    matrices: Vec<Matrix>,
    /// Measured once: the files do not change while open.
    occupancy: OnceLock<f64>,
}

/// K-mers per stretch of a query looked up at once (its rows: `STRETCH × bytes per row`).
pub const STRETCH: usize = 4096;

/// Rows per partition [`SubIndex::occupancy`] reads.
pub const OCCUPANCY_ROWS: u64 = 4096;

/// Why a query cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("sequence of {len} letters is shorter than s + z = {min}")]
    TooShort { len: usize, min: usize },
    #[error("the lookup was stopped")]
    Stopped,
}

impl SubIndex {
    /// Opens sub-index `name` of the registry from its directory `dir`.
    pub fn open(name: &str, dir: &Path, entry: Entry) -> Result<SubIndex, Error> {
        if dir.join("compression.cfg").exists() {
            return Err(Error::Unsupported {
                path: dir.join("compression.cfg"),
                what: "a zstd-compressed index".into(),
            });
        }
        let hash = HashInfo::read(&dir.join("hash.info"))?;
        let mismatch = |what: String| Error::Invalid {
            path: dir.join("hash.info"),
            what,
        };
        if hash.nb_partitions != entry.nb_partitions as u64 {
            return Err(mismatch(format!(
                "{} partitions, the registry says {}",
                hash.nb_partitions, entry.nb_partitions
            )));
        }
        if hash.minim_size as usize != entry.minim_size {
            return Err(mismatch(format!(
                "minimizer size {}, the registry says {}",
                hash.minim_size, entry.minim_size
            )));
        }
        if entry.smer_size > MAX_SMER_SIZE || entry.smer_size == 0 {
            return Err(Error::Unsupported {
                path: dir.to_owned(),
                what: format!(
                    "s-mer size {} (sizes 1 to {MAX_SMER_SIZE} are)",
                    entry.smer_size
                ),
            });
        }
        if !MINIM_SIZES.contains(&entry.minim_size) || entry.minim_size > entry.smer_size {
            return Err(Error::Unsupported {
                path: dir.to_owned(),
                what: format!("minimizer size {}", entry.minim_size),
            });
        }
        if !(1..=32).contains(&entry.bw) {
            return Err(Error::Unsupported {
                path: dir.to_owned(),
                what: format!("{} bits per sample", entry.bw),
            });
        }
        let repartition = Repartition::read(
            &dir.join("repartition_gatb/repartition.minimRepart"),
            hash.minim_size,
            hash.nb_partitions,
        )?;
        let matrices = (0..entry.nb_partitions)
            .map(|p| {
                Matrix::open(
                    &dir.join(format!("matrices/matrix_{p}.cmbf")),
                    Expected {
                        bits: (entry.nb_samples * entry.bw) as u64,
                        rows: hash.window_bits,
                        partition: p as u32,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SubIndex {
            name: name.to_owned(),
            dir: dir.to_owned(),
            entry,
            hash,
            repartition,
            matrices,
            occupancy: OnceLock::new(),
        })
    }

    /// The sub-index's name in its registry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its kmtricks run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its registry entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// Sample names, in column order.
    pub fn samples(&self) -> &[String] {
        &self.entry.samples
    }

    /// s-mer size.
    pub fn smer_size(&self) -> usize {
        self.entry.smer_size
    }

    /// Bits per sample: 1 for presence/absence.
    pub fn bw(&self) -> usize {
        self.entry.bw
    }

    /// The fraction of non-empty cells (sample × row), measured on up to
    /// [`OCCUPANCY_ROWS`] rows at the start of every partition (hashes spread s-mers
    /// uniformly over rows, so these stand for all).
    pub fn occupancy(&self) -> f64 {
        *self.occupancy.get_or_init(|| self.measure_occupancy())
    }

    fn measure_occupancy(&self) -> f64 {
        let (samples, bw) = (self.entry.nb_samples, self.entry.bw);
        let (mut filled, mut cells) = (0u64, 0u64);
        for matrix in &self.matrices {
            for row in 0..matrix.rows().min(OCCUPANCY_ROWS) {
                let bytes = matrix.row(row);
                for sample in 0..samples {
                    // Presence bits are least significant first, abundance classes most.
                    let set = |bit: usize| {
                        let shift = if bw == 1 { bit % 8 } else { 7 - bit % 8 };
                        bytes[bit / 8] >> shift & 1 == 1
                    };
                    filled += u64::from((sample * bw..(sample + 1) * bw).any(set));
                }
                cells += samples as u64;
            }
        }
        if cells == 0 {
            0.0
        } else {
            filled as f64 / cells as f64
        }
    }

    /// kmindex's layout fingerprint (the registry's `sha1`), recomputed from the files.
    pub fn fingerprint(&self) -> String {
        super::registry::kmindex_sha1(
            self.hash.bloom_size,
            self.hash.nb_partitions,
            self.entry.smer_size as u64,
            self.entry.minim_size as u64,
            self.entry.bw as u64,
            self.repartition.table(),
        )
    }

    fn hasher(&self) -> SmerHasher<'_> {
        SmerHasher::new(
            self.smer_size(),
            self.entry.minim_size,
            self.hash.window_bits,
            self.repartition.table(),
        )
    }

    fn row_bytes(&self) -> usize {
        self.matrices.first().map_or(0, Matrix::row_bytes)
    }

    /// Reads into `rows` the rows of s-mers `smers` of `seq`: all are hashed first (into
    /// `slots`), then all rows are read, so that the reads, which miss the caches, are many in
    /// flight at once rather than each waiting behind the next s-mer's hashing.
    fn read_rows(
        &self,
        hasher: &SmerHasher,
        seq: &[u8],
        smers: Range<usize>,
        slots: &mut Vec<(u16, u64)>,
        rows: &mut SmerRows,
    ) {
        rows.resize(smers.len());
        slots.clear();
        hasher.for_each_in(seq, smers, |slot| slots.push((slot.partition, slot.row)));
        for (i, &(partition, row)) in slots.iter().enumerate() {
            self.matrices[usize::from(partition)].copy_row(row, rows.padded_row_mut(i));
        }
    }

    /// Looks up every s-mer of every sequence.
    pub fn lookup(&self, seqs: &[&[u8]]) -> Vec<SmerRows> {
        let hasher = self.hasher();
        let s = self.smer_size();
        let mut slots = Vec::new();
        seqs.iter()
            .map(|seq| {
                let mut rows = SmerRows::zeroed(0, self.row_bytes());
                let smers = 0..(seq.len() + 1).saturating_sub(s);
                self.read_rows(&hasher, seq, smers, &mut slots, &mut rows);
                rows
            })
            .collect()
    }

    /// Answers each sequence as its own query with findere's `z`. Every sequence must have at
    /// least `s + z` letters. A sequence is looked up a stretch of [`STRETCH`] k-mers at a
    /// time, so that its memory does not grow with the rows of all its s-mers.
    pub fn query(
        &self,
        seqs: &[&[u8]],
        z: usize,
        with_positions: bool,
    ) -> Result<Vec<QueryResult>, QueryError> {
        self.query_until(seqs, z, with_positions, &AtomicBool::new(false))
    }

    /// [`SubIndex::query`], given up ([`QueryError::Stopped`]) once `stop` is set: it is read
    /// between stretches, a fraction of a millisecond apart.
    pub fn query_until(
        &self,
        seqs: &[&[u8]],
        z: usize,
        with_positions: bool,
        stop: &AtomicBool,
    ) -> Result<Vec<QueryResult>, QueryError> {
        let min = self.smer_size() + z;
        if let Some(short) = seqs.iter().find(|seq| seq.len() < min) {
            return Err(QueryError::TooShort {
                len: short.len(),
                min,
            });
        }
        let hasher = self.hasher();
        let mut rows = SmerRows::zeroed(0, self.row_bytes());
        let mut slots = Vec::with_capacity(STRETCH + z);
        seqs.iter()
            .map(|seq| {
                let nb_kmers = seq.len() + 1 - min;
                let mut answer = Answer::new(
                    self.entry.nb_samples,
                    self.bw(),
                    self.row_bytes(),
                    with_positions,
                );
                for first in (0..nb_kmers).step_by(STRETCH) {
                    if stop.load(Ordering::Relaxed) {
                        return Err(QueryError::Stopped);
                    }
                    let last = (first + STRETCH).min(nb_kmers);
                    // The k-mers first..last need s-mers first..last + z.
                    self.read_rows(&hasher, seq, first..last + z, &mut slots, &mut rows);
                    answer.add(&rows, z);
                }
                metrics::counter!("kmviz_smer_lookups_total").increment((nb_kmers + z) as u64);
                Ok(answer.finish())
            })
            .collect()
    }
}
