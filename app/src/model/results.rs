//! What a provider answers for one query: per sample, how much of the query it holds and where.
//!
//! Providers report at k-mer level (kmindex's `R`, `C`, `P`); the base-level views kmviz shows
//! (covered bases, per-base abundance) are derived here so every provider gets them alike.

use serde::{Deserialize, Serialize};

/// One sample's answer to one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleHit {
    /// Sample identifier, as the index names it.
    pub sample: String,
    /// Fraction of the query's k-mers found in the sample (kmindex's `R`, kmviz's `CovXK`).
    pub kmer_ratio: f64,
    /// Mean abundance over the query's k-mers (kmindex's `C`); `None` for presence/absence
    /// indexes.
    pub mean_abundance: Option<u32>,
    /// Per k-mer, left to right: 0/1 presence, or the abundance (kmindex's `P`).
    pub kmers: Vec<u32>,
}

/// A provider's answer to one query in one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryHits {
    /// The query's name.
    pub query: String,
    /// Length of the k-mers the positions in [`SampleHit::kmers`] stand for.
    pub kmer_size: usize,
    /// Samples that passed the provider's threshold.
    pub samples: Vec<SampleHit>,
}

/// Base-level view of a [`SampleHit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseCoverage {
    /// Fraction of the query's bases covered by at least one k-mer found (kmviz's `CovXB`).
    pub covered_ratio: f64,
    /// Per base: 1 if a k-mer found covers it, else 0.
    pub covered: Vec<u8>,
    /// Per base: the mean value over the k-mers overlapping it (abundance, or presence for
    /// presence/absence indexes).
    pub mean: Vec<f64>,
}

impl SampleHit {
    /// Projects the k-mer vector onto the query's `query_len` bases, for k-mers of `kmer_size`.
    pub fn base_coverage(&self, kmer_size: usize, query_len: usize) -> BaseCoverage {
        let mut covered = vec![0u8; query_len];
        let mut sum = vec![0u64; query_len];
        let mut overlaps = vec![0u32; query_len];
        for (start, &value) in self.kmers.iter().enumerate() {
            let end = (start + kmer_size).min(query_len);
            for base in start..end {
                overlaps[base] += 1;
                sum[base] += u64::from(value);
                if value != 0 {
                    covered[base] = 1;
                }
            }
        }
        let covered_bases = covered.iter().filter(|&&c| c != 0).count();
        let mean = sum
            .iter()
            .zip(&overlaps)
            .map(|(&s, &n)| if n == 0 { 0.0 } else { s as f64 / f64::from(n) })
            .collect();
        BaseCoverage {
            covered_ratio: if query_len == 0 {
                0.0
            } else {
                covered_bases as f64 / query_len as f64
            },
            covered,
            mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(kmers: Vec<u32>) -> SampleHit {
        SampleHit {
            sample: "S".into(),
            kmer_ratio: 0.0,
            mean_abundance: None,
            kmers,
        }
    }

    #[test]
    fn presence_projects_onto_bases() {
        // 8 bases, k = 3: 6 k-mers; k-mers 0 and 4 present cover bases 0..3 and 4..7.
        let cov = hit(vec![1, 0, 0, 0, 1, 0]).base_coverage(3, 8);
        assert_eq!(cov.covered, [1, 1, 1, 0, 1, 1, 1, 0]);
        assert_eq!(cov.covered_ratio, 6.0 / 8.0);
        // Base 2 is overlapped by k-mers 0, 1, 2: one of three present.
        assert!((cov.mean[2] - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn abundance_is_averaged_over_overlapping_kmers() {
        let cov = hit(vec![2, 4, 0]).base_coverage(2, 4);
        // base 0: k0 (2); base 1: k0, k1 (2, 4); base 2: k1, k2 (4, 0); base 3: k2 (0).
        assert_eq!(cov.mean, [2.0, 3.0, 2.0, 0.0]);
        assert_eq!(cov.covered, [1, 1, 1, 0]);
    }
}
