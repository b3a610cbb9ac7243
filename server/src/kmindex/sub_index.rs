//! One opened sub-index: its registry entry, sizes, repartition table and mapped partitions,
//! and the lookup of a batch of queries.

use std::path::{Path, PathBuf};

use super::Error;
use super::hash_info::HashInfo;
use super::matrix::{Expected, Matrix};
use super::registry::Entry;
use super::repartition::Repartition;
use super::result::{QueryResult, SmerRows};
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
}

/// Rows per partition [`SubIndex::occupancy`] reads.
pub const OCCUPANCY_ROWS: u64 = 4096;

/// Why a query cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("sequence of {len} letters is shorter than s + z = {min}")]
    TooShort { len: usize, min: usize },
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

    /// Looks up every s-mer of every sequence. Lookups are grouped by partition and sorted by
    /// row so that each partition is read in one forward sweep.
    pub fn lookup(&self, seqs: &[&[u8]]) -> Vec<SmerRows> {
        let s = self.smer_size();
        let row_bytes = self.matrices.first().map_or(0, Matrix::row_bytes);
        let hasher = SmerHasher::new(
            s,
            self.entry.minim_size,
            self.hash.window_bits,
            self.repartition.table(),
        );
        let mut rows: Vec<SmerRows> = seqs
            .iter()
            .map(|seq| SmerRows::zeroed((seq.len() + 1).saturating_sub(s), row_bytes))
            .collect();
        let mut by_partition: Vec<Vec<(u64, u32, u32)>> = vec![Vec::new(); self.matrices.len()];
        for (query, seq) in seqs.iter().enumerate() {
            hasher.for_each(seq, |slot| {
                by_partition[slot.partition as usize].push((
                    slot.row,
                    query as u32,
                    slot.pos as u32,
                ));
            });
        }
        for (matrix, mut lookups) in self.matrices.iter().zip(by_partition) {
            lookups.sort_unstable_by_key(|&(row, _, _)| row);
            for (row, query, pos) in lookups {
                rows[query as usize]
                    .row_mut(pos as usize)
                    .copy_from_slice(matrix.row(row));
            }
        }
        rows
    }

    /// Answers each sequence as its own query with findere's `z`. Every sequence must have at
    /// least `s + z` letters.
    pub fn query(
        &self,
        seqs: &[&[u8]],
        z: usize,
        with_positions: bool,
    ) -> Result<Vec<QueryResult>, QueryError> {
        let min = self.smer_size() + z;
        if let Some(short) = seqs.iter().find(|seq| seq.len() < min) {
            return Err(QueryError::TooShort {
                len: short.len(),
                min,
            });
        }
        Ok(self
            .lookup(seqs)
            .iter()
            .map(|rows| {
                QueryResult::compute(rows, z, self.entry.nb_samples, self.bw(), with_positions)
            })
            .collect())
    }
}
