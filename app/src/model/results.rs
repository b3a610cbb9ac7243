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
    pub kmers: Kmers,
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

/// Per-k-mer values (0/1 presence or an abundance class) as runs of equal values: found and
/// missing k-mers come in stretches, so a 1 kb query usually takes a few runs, not 1000 numbers.
/// In JSON: `[[value, count], ...]`; a plain list of values (sessions saved before) is read too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kmers(Vec<[u32; 2]>);

impl Kmers {
    pub fn from_values(values: impl IntoIterator<Item = u32>) -> Kmers {
        let mut runs: Vec<[u32; 2]> = Vec::new();
        for value in values {
            match runs.last_mut() {
                Some([last, count]) if *last == value => *count += 1,
                _ => runs.push([value, 1]),
            }
        }
        Kmers(runs)
    }

    /// From `[value, count]` runs (empty runs dropped; equal neighbours kept as they are).
    pub fn from_runs(runs: Vec<[u32; 2]>) -> Kmers {
        Kmers(runs.into_iter().filter(|[_, n]| *n > 0).collect())
    }

    /// Number of k-mers.
    pub fn len(&self) -> usize {
        self.0.iter().map(|[_, n]| *n as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `[value, count]` runs, left to right.
    pub fn runs(&self) -> &[[u32; 2]] {
        &self.0
    }

    /// One value per k-mer.
    pub fn values(&self) -> Vec<u32> {
        let mut values = Vec::with_capacity(self.len());
        for &[value, count] in &self.0 {
            values.extend(std::iter::repeat_n(value, count as usize));
        }
        values
    }
}

impl<'de> Deserialize<'de> for Kmers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kmers, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Runs(Vec<[u32; 2]>),
            Values(Vec<u32>),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Runs(runs) => Kmers::from_runs(runs),
            Stored::Values(values) => Kmers::from_values(values),
        })
    }
}

/// The coverage of a query by one sample (see the module's table of formulas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    #[serde(rename = "CovXK")]
    pub cov_xk: f64,
    #[serde(rename = "CovXB")]
    pub cov_xb: f64,
    #[serde(rename = "CovYK", skip_serializing_if = "Option::is_none", default)]
    pub cov_yk: Option<f64>,
    #[serde(rename = "CovYB", skip_serializing_if = "Option::is_none", default)]
    pub cov_yb: Option<f64>,
}

impl Coverage {
    /// The coverage of a query of `query_len` bases by k-mers of `kmer_size` with values
    /// `kmers`. A vector of the wrong length (a provider without vectors) falls back to
    /// `kmer_ratio`.
    pub fn of(
        kmers: &Kmers,
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
            };
        }
        // From the runs: found k-mers, and the bases their windows cover (runs come in order,
        // so the union of windows grows at its end).
        let (mut found, mut covered, mut covered_until, mut start) = (0, 0, 0, 0);
        for &[value, count] in kmers.runs() {
            let count = count as usize;
            if value > 0 {
                found += count;
                let end = start + count - 1 + kmer_size;
                covered += end - start.max(covered_until);
                covered_until = end;
            }
            start += count;
        }
        let (cov_yk, cov_yb) = if abundance {
            let values = kmers.values();
            let total: u64 = values.iter().map(|&p| u64::from(p)).sum();
            let mut sum_y = 0.0;
            for_each_base(&values, kmer_size, query_len, true, |y| sum_y += y);
            (
                Some(total as f64 / n as f64),
                Some(sum_y / query_len as f64),
            )
        } else {
            (None, None)
        };
        Coverage {
            cov_xk: found as f64 / n as f64,
            cov_xb: covered as f64 / query_len as f64,
            cov_yk,
            cov_yb,
        }
    }
}

/// Per base: 0/1 covered by a found k-mer (presence/absence), or `y[b]` (abundance). `None`
/// when `kmers` does not have `query_len - kmer_size + 1` values (a provider without vectors).
/// Derived where it is shown, never stored.
pub fn per_base(
    kmers: &[u32],
    kmer_size: usize,
    query_len: usize,
    abundance: bool,
) -> Option<Vec<f64>> {
    let mut bases = Vec::with_capacity(query_len);
    for_each_base(kmers, kmer_size, query_len, abundance, |y| bases.push(y)).then_some(bases)
}

/// Calls `visit` with each base's value (see [`per_base`]); false when the lengths disagree.
fn for_each_base(
    kmers: &[u32],
    kmer_size: usize,
    query_len: usize,
    abundance: bool,
    mut visit: impl FnMut(f64),
) -> bool {
    let n = kmers.len();
    if n == 0 || kmer_size == 0 || n + kmer_size - 1 != query_len {
        return false;
    }
    // A running count of found k-mers starting in (b - k, b]; a running sum for window means.
    let (mut found_in_window, mut sum_in_window) = (0usize, 0u64);
    for b in 0..query_len {
        if b < n {
            found_in_window += usize::from(kmers[b] > 0);
            sum_in_window += u64::from(kmers[b]);
        }
        if b >= kmer_size {
            found_in_window -= usize::from(kmers[b - kmer_size] > 0);
            sum_in_window -= u64::from(kmers[b - kmer_size]);
        }
        if abundance {
            let first = (b + 1).saturating_sub(kmer_size);
            let last = b.min(n - 1);
            visit(sum_in_window as f64 / (last - first + 1) as f64);
        } else {
            visit(if found_in_window > 0 { 1.0 } else { 0.0 });
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definitions, computed the slow way: every base against every k-mer.
    fn naive(kmers: &[u32], k: usize, len: usize, abundance: bool) -> (Coverage, Vec<f64>) {
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
        let coverage = Coverage {
            cov_xk: kmers.iter().filter(|&&p| p > 0).count() as f64 / n as f64,
            cov_xb: covered.iter().filter(|&&c| c).count() as f64 / len as f64,
            cov_yk: abundance.then(|| kmers.iter().sum::<u32>() as f64 / n as f64),
            cov_yb: abundance.then(|| y.iter().sum::<f64>() / len as f64),
        };
        let bases = if abundance {
            y
        } else {
            covered.iter().map(|&c| f64::from(u8::from(c))).collect()
        };
        (coverage, bases)
    }

    #[test]
    fn presence_by_hand() {
        // 8 bases, k = 3: 6 k-mers; k-mers 0 and 4 found cover bases 0..3 and 4..7.
        let cov = Coverage::of(
            &Kmers::from_values([1, 0, 0, 0, 1, 0]),
            2.0 / 6.0,
            3,
            8,
            false,
        );
        let bases = per_base(&[1, 0, 0, 0, 1, 0], 3, 8, false).unwrap();
        assert_eq!(bases, [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!(cov.cov_xk, 2.0 / 6.0);
        assert_eq!(cov.cov_xb, 6.0 / 8.0);
        assert_eq!(cov.cov_yk, None);
    }

    #[test]
    fn abundance_by_hand() {
        // 4 bases, k = 2: k-mers (2, 4, 0).
        // base 0: k0 → 2; base 1: k0, k1 → 3; base 2: k1, k2 → 2; base 3: k2 → 0.
        let cov = Coverage::of(&Kmers::from_values([2, 4, 0]), 2.0 / 3.0, 2, 4, true);
        assert_eq!(
            per_base(&[2, 4, 0], 2, 4, true).unwrap(),
            [2.0, 3.0, 2.0, 0.0]
        );
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
            let fast = Coverage::of(
                &Kmers::from_values(kmers.clone()),
                0.0,
                k,
                n + k - 1,
                abundance,
            );
            let fast_bases = per_base(&kmers, k, n + k - 1, abundance).unwrap();
            let (slow, slow_bases) = naive(&kmers, k, n + k - 1, abundance);
            assert_eq!(fast.cov_xk, slow.cov_xk);
            assert_eq!(fast.cov_xb, slow.cov_xb);
            let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
            assert!(
                fast_bases
                    .iter()
                    .zip(&slow_bases)
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
        let cov = Coverage::of(&Kmers::default(), 0.75, 25, 100, false);
        assert_eq!(cov.cov_xk, 0.75);
        assert_eq!(per_base(&[], 25, 100, false), None);
    }

    #[test]
    fn kmers_are_runs_and_read_plain_lists_too() {
        let kmers = Kmers::from_values([1, 1, 1, 0, 0, 3, 1]);
        assert_eq!(kmers.runs(), [[1, 3], [0, 2], [3, 1], [1, 1]]);
        assert_eq!(kmers.len(), 7);
        assert_eq!(kmers.values(), [1, 1, 1, 0, 0, 3, 1]);
        let json = serde_json::to_string(&kmers).unwrap();
        assert_eq!(json, "[[1,3],[0,2],[3,1],[1,1]]");
        assert_eq!(serde_json::from_str::<Kmers>(&json).unwrap(), kmers);
        let plain: Kmers = serde_json::from_str("[1,1,1,0,0,3,1]").unwrap();
        assert_eq!(plain, kmers);
        assert!(serde_json::from_str::<Kmers>("[]").unwrap().is_empty());
    }
}
