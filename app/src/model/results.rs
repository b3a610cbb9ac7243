//! What a provider answers for one query, and the coverage kmviz derives from it.
//!
//! Providers report at k-mer level (kmindex's `R`, `C`, `P`); the base-level views kmviz shows are
//! derived here so every provider gets them alike. For a query of `L` bases and k-mers of size
//! `k`, there are `n = L - k + 1` k-mers and `p[i]` is k-mer `i`'s value (0/1 presence, or the
//! abundance). K-mer `i` covers bases `i .. i + k`.
//!
//! | name | formula |
//! |---|---|
//! | `CovXK` | `#{i : p[i] > 0} / n` — fraction of the k-mers found |
//! | `CovXB` | `#{b : some k-mer covering b has p > 0} / L` — fraction of bases covered by a found k-mer |
//! | `CovYK` | `Σ p[i] / n` — mean abundance per k-mer (abundance indexes) |
//! | `y[b]` | mean of `p[i]` over the k-mers covering base `b` (`min(b, n-1) - max(0, b-k+1) + 1` of them) |
//! | `CovYB` | `Σ y[b] / L` — mean abundance per base (abundance indexes) |
//!
//! kmviz 0.8 computed the abundance `CovXB` from the count of found k-mers plus `k - 1` (wrong
//! whenever found k-mers overlap or are not at the end) and shifted `y` on the last bases.

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

/// A provider's answer to one query in one (sub-)index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryHits {
    /// The query's name.
    pub query: String,
    /// The (sub-)index that answered.
    pub index: String,
    /// Length of the k-mers the positions in [`SampleHit::kmers`] stand for.
    pub kmer_size: usize,
    /// Whether [`SampleHit::kmers`] holds abundances rather than presence.
    pub abundance: bool,
    /// Samples that passed the provider's threshold.
    pub samples: Vec<SampleHit>,
}

/// The coverage of a query by one sample (see the module's table of formulas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    #[serde(rename = "CovXK")]
    pub cov_xk: f64,
    #[serde(rename = "CovXB")]
    pub cov_xb: f64,
    #[serde(rename = "CovYK", skip_serializing_if = "Option::is_none", default)]
    pub cov_yk: Option<f64>,
    #[serde(rename = "CovYB", skip_serializing_if = "Option::is_none", default)]
    pub cov_yb: Option<f64>,
    /// Per base: 0/1 covered by a found k-mer (presence/absence), or `y[b]` (abundance).
    pub bases: Vec<f64>,
}

impl Coverage {
    /// The coverage of a query of `query_len` bases by k-mers of `kmer_size` with values
    /// `kmers`. A vector of the wrong length (a provider without vectors) falls back to
    /// `kmer_ratio` with empty per-base values.
    pub fn of(
        kmers: &[u32],
        kmer_ratio: f64,
        kmer_size: usize,
        query_len: usize,
        abundance: bool,
    ) -> Coverage {
        let n = kmers.len();
        if n == 0 || kmer_size == 0 || n + kmer_size - 1 != query_len {
            return Coverage {
                cov_xk: kmer_ratio,
                cov_xb: 0.0,
                cov_yk: None,
                cov_yb: None,
                bases: Vec::new(),
            };
        }
        let found = kmers.iter().filter(|&&p| p > 0).count();
        // covered[b] via a running count of found k-mers starting in (b - k, b].
        let mut covered = vec![false; query_len];
        let mut found_in_window = 0usize;
        // prefix[i] = p[0] + ... + p[i-1], for window means.
        let mut prefix = Vec::with_capacity(n + 1);
        prefix.push(0u64);
        for &p in kmers {
            prefix.push(prefix.last().unwrap() + u64::from(p));
        }
        let mut bases = Vec::with_capacity(query_len);
        for (b, is_covered) in covered.iter_mut().enumerate() {
            if b < n && kmers[b] > 0 {
                found_in_window += 1;
            }
            if b >= kmer_size && kmers[b - kmer_size] > 0 {
                found_in_window -= 1;
            }
            *is_covered = found_in_window > 0;
            if abundance {
                let first = (b + 1).saturating_sub(kmer_size);
                let last = b.min(n - 1);
                let sum = prefix[last + 1] - prefix[first];
                bases.push(sum as f64 / (last - first + 1) as f64);
            } else {
                bases.push(if *is_covered { 1.0 } else { 0.0 });
            }
        }
        let covered_bases = covered.iter().filter(|&&c| c).count();
        let (cov_yk, cov_yb) = if abundance {
            (
                Some(prefix[n] as f64 / n as f64),
                Some(bases.iter().sum::<f64>() / query_len as f64),
            )
        } else {
            (None, None)
        };
        Coverage {
            cov_xk: found as f64 / n as f64,
            cov_xb: covered_bases as f64 / query_len as f64,
            cov_yk,
            cov_yb,
            bases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definitions, computed the slow way: every base against every k-mer.
    fn naive(kmers: &[u32], k: usize, len: usize, abundance: bool) -> Coverage {
        let n = kmers.len();
        let covering = |b: usize| (0..n).filter(move |&i| i <= b && b < i + k);
        let covered: Vec<bool> = (0..len)
            .map(|b| covering(b).any(|i| kmers[i] > 0))
            .collect();
        let y: Vec<f64> = (0..len)
            .map(|b| {
                let v: Vec<u32> = covering(b).map(|i| kmers[i]).collect();
                v.iter().sum::<u32>() as f64 / v.len() as f64
            })
            .collect();
        Coverage {
            cov_xk: kmers.iter().filter(|&&p| p > 0).count() as f64 / n as f64,
            cov_xb: covered.iter().filter(|&&c| c).count() as f64 / len as f64,
            cov_yk: abundance.then(|| kmers.iter().sum::<u32>() as f64 / n as f64),
            cov_yb: abundance.then(|| y.iter().sum::<f64>() / len as f64),
            bases: if abundance {
                y
            } else {
                covered.iter().map(|&c| f64::from(u8::from(c))).collect()
            },
        }
    }

    #[test]
    fn presence_by_hand() {
        // 8 bases, k = 3: 6 k-mers; k-mers 0 and 4 found cover bases 0..3 and 4..7.
        let cov = Coverage::of(&[1, 0, 0, 0, 1, 0], 2.0 / 6.0, 3, 8, false);
        assert_eq!(cov.bases, [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!(cov.cov_xk, 2.0 / 6.0);
        assert_eq!(cov.cov_xb, 6.0 / 8.0);
        assert_eq!(cov.cov_yk, None);
    }

    #[test]
    fn abundance_by_hand() {
        // 4 bases, k = 2: k-mers (2, 4, 0).
        // base 0: k0 → 2; base 1: k0, k1 → 3; base 2: k1, k2 → 2; base 3: k2 → 0.
        let cov = Coverage::of(&[2, 4, 0], 2.0 / 3.0, 2, 4, true);
        assert_eq!(cov.bases, [2.0, 3.0, 2.0, 0.0]);
        assert_eq!(cov.cov_yk, Some(2.0));
        assert_eq!(cov.cov_yb, Some(7.0 / 4.0));
        // Bases 0..3 are covered by k0 or k1; base 3 only by k2 (absent).
        assert_eq!(cov.cov_xb, 3.0 / 4.0);
    }

    #[test]
    fn matches_the_definitions_on_many_vectors() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for _ in 0..500 {
            let k = 1 + (next() % 9) as usize;
            let n = 1 + (next() % 40) as usize;
            let abundance = next() % 2 == 0;
            let kmers: Vec<u32> = (0..n)
                .map(|_| if next() % 3 == 0 { 0 } else { next() % 5 })
                .collect();
            let fast = Coverage::of(&kmers, 0.0, k, n + k - 1, abundance);
            let slow = naive(&kmers, k, n + k - 1, abundance);
            assert_eq!(fast.cov_xk, slow.cov_xk);
            assert_eq!(fast.cov_xb, slow.cov_xb);
            let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
            assert!(
                fast.bases
                    .iter()
                    .zip(&slow.bases)
                    .all(|(a, b)| close(*a, *b))
            );
            assert_eq!(fast.cov_yk.is_some(), abundance);
            if abundance {
                assert!(close(fast.cov_yk.unwrap(), slow.cov_yk.unwrap()));
                assert!(close(fast.cov_yb.unwrap(), slow.cov_yb.unwrap()));
            }
        }
    }

    #[test]
    fn without_vectors_keeps_the_ratio() {
        let cov = Coverage::of(&[], 0.75, 25, 100, false);
        assert_eq!(cov.cov_xk, 0.75);
        assert!(cov.bases.is_empty());
    }
}
