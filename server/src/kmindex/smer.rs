//! From sequence letters to matrix rows, as kmindex computes them.
//!
//! - Letters are 2-bit codes `A=0 C=1 T=2 G=3`. The first s-mer of a sequence is encoded with
//!   kmtricks' table (lower case as upper case, any other letter as `C`); each following letter
//!   with `(byte >> 1) & 3`, which gives the same codes for `ACGTacgt` but `G` for `N`. Both are
//!   kmindex's behaviour and are kept so that answers match.
//! - An s-mer's canonical form is the smaller of it and its reverse complement (complement is
//!   `code ^ 2`).
//! - Its minimizer is the smallest canonical m-mer among its `s - m + 1` m-mers, where m-mers
//!   that kmtricks deems invalid count as `4^m - 1`.
//! - Its partition is the repartition table's entry for the minimizer; its row is the
//!   xxHash64 (seed 0) of the canonical s-mer's 8 little-endian bytes, modulo the window.

use xxhash_rust::xxh64::xxh64;

/// Largest s-mer size kmindex's default build handles (its k-mers live in one `u64`).
pub const MAX_SMER_SIZE: usize = 31;
/// Minimizer sizes kmtricks' `u32` minimizers and validity check handle.
pub const MINIM_SIZES: std::ops::RangeInclusive<usize> = 3..=15;

/// Where one s-mer of a query is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmerSlot {
    /// Position of the s-mer in the query.
    pub pos: usize,
    /// Partition (matrix file).
    pub partition: u16,
    /// xxHash64 of the canonical s-mer.
    pub hash: u64,
    /// Row in that partition: the hash modulo the window.
    pub row: u64,
}

/// Maps s-mers to their partition and row for one sub-index.
#[derive(Debug, Clone, Copy)]
pub struct SmerHasher<'a> {
    smer_size: usize,
    minim_size: usize,
    window: u64,
    repartition: &'a [u16],
}

impl<'a> SmerHasher<'a> {
    /// `smer_size <= 31`, `minim_size` in [`MINIM_SIZES`] and at most `smer_size`,
    /// `repartition.len() == 4^minim_size`.
    pub fn new(smer_size: usize, minim_size: usize, window: u64, repartition: &'a [u16]) -> Self {
        assert!(smer_size <= MAX_SMER_SIZE);
        assert!(MINIM_SIZES.contains(&minim_size) && minim_size <= smer_size);
        assert_eq!(repartition.len(), 1 << (2 * minim_size));
        SmerHasher {
            smer_size,
            minim_size,
            window,
            repartition,
        }
    }

    /// Calls `visit` with the slot of every s-mer of `seq`, left to right.
    pub fn for_each(&self, seq: &[u8], mut visit: impl FnMut(SmerSlot)) {
        let (s, m) = (self.smer_size, self.minim_size);
        if seq.len() < s {
            return;
        }
        let codes: Vec<u64> = seq
            .iter()
            .enumerate()
            .map(|(p, &letter)| {
                if p < s {
                    first_smer_code(letter)
                } else {
                    next_letter_code(letter)
                }
            })
            .collect();
        // An s-mer's minimizer is the smallest of its m-mers' values, and the canonical m-mers
        // of an s-mer and of its reverse complement are the same: compute each once.
        let minimizers = sliding_min(&minimizer_candidates(&codes, m), s - m + 1);
        let mask = (1u64 << (2 * s)) - 1;
        let mut code = codes[..s - 1].iter().fold(0u64, |acc, &c| (acc << 2) | c);
        for pos in 0..=seq.len() - s {
            code = ((code << 2) | codes[pos + s - 1]) & mask;
            let canonical = code.min(reverse_complement(code, s));
            let minimizer = minimizers[pos];
            let hash = xxh64(&canonical.to_le_bytes(), 0);
            visit(SmerSlot {
                pos,
                partition: self.repartition[minimizer as usize],
                hash,
                row: hash % self.window,
            });
        }
    }
}

/// The minimum of every window of `width` consecutive values (van Herk / Gil-Werman: prefix
/// and suffix minima over blocks of `width`, so each window costs one comparison).
fn sliding_min(values: &[u32], width: usize) -> Vec<u32> {
    let n = values.len();
    let mut prefix = values.to_vec();
    let mut suffix = values.to_vec();
    for i in 1..n {
        if i % width != 0 {
            prefix[i] = prefix[i].min(prefix[i - 1]);
        }
    }
    for i in (0..n.saturating_sub(1)).rev() {
        if (i + 1) % width != 0 {
            suffix[i] = suffix[i].min(suffix[i + 1]);
        }
    }
    (0..(n + 1).saturating_sub(width))
        .map(|i| suffix[i].min(prefix[i + width - 1]))
        .collect()
}

/// For each m-mer of the letter codes: its canonical value, or `4^m - 1` where kmtricks deems
/// it invalid.
fn minimizer_candidates(codes: &[u64], m: usize) -> Vec<u32> {
    let all_ones = (1u64 << (2 * m)) - 1;
    let mut mmer = 0u64;
    let mut candidates = Vec::with_capacity(codes.len() + 1 - m);
    for (p, &c) in codes.iter().enumerate() {
        mmer = ((mmer << 2) | c) & all_ones;
        if p + 1 >= m {
            let canonical = mmer.min(reverse_complement(mmer, m)) as u32;
            candidates.push(if is_valid_minimizer(canonical, m) {
                canonical
            } else {
                all_ones as u32
            });
        }
    }
    candidates
}

/// kmtricks' `NToB` table: `ACGT` in either case, anything else as `C`.
fn first_smer_code(letter: u8) -> u64 {
    match letter {
        b'A' | b'a' => 0,
        b'T' | b't' => 2,
        b'G' | b'g' => 3,
        _ => 1,
    }
}

/// kmindex's rolling encoding of each following letter.
fn next_letter_code(letter: u8) -> u64 {
    u64::from((letter >> 1) & 3)
}

/// Reverse complement of the `len`-letter code `code` (`len <= 32`).
pub fn reverse_complement(code: u64, len: usize) -> u64 {
    let mut x = code;
    // Reverse the order of the 32 two-bit letters, then complement them all.
    x = ((x >> 2) & 0x3333_3333_3333_3333) | ((x & 0x3333_3333_3333_3333) << 2);
    x = ((x >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((x & 0x0F0F_0F0F_0F0F_0F0F) << 4);
    x = x.swap_bytes();
    x ^= 0xAAAA_AAAA_AAAA_AAAA;
    x >> (2 * (32 - len))
}

/// kmtricks' minimizer validity, as its bit trick computes it: no two consecutive `A` among
/// the m-mer's last `m - 1` letters (a leading `AA` passes).
fn is_valid_minimizer(value: u32, size: usize) -> bool {
    let mask1 = u32::MAX >> ((32 - 2 * size) + 4);
    let mask00 = 0x5555_5555 & mask1;
    let x = !(value | (value >> 2));
    ((x >> 1) & x) & mask00 == 0
}

/// The minimizer of a canonical s-mer, as kmindex computes it (the definition the fast path
/// in [`SmerHasher::for_each`] is checked against).
#[cfg(test)]
fn minimizer(canonical: u64, smer_size: usize, minim_size: usize) -> u32 {
    let all_ones = ((1u64 << (2 * minim_size)) - 1) as u32;
    let mut best = u32::MAX;
    for i in 0..=smer_size - minim_size {
        let shift = 2 * (smer_size - minim_size - i);
        let forward = ((canonical >> shift) as u32) & all_ones;
        let mmer = forward.min(reverse_complement(u64::from(forward), minim_size) as u32);
        let candidate = if is_valid_minimizer(mmer, minim_size) {
            mmer
        } else {
            all_ones
        };
        best = best.min(candidate);
    }
    best
}

/// The 2-bit code of an `ACGT` string (tests and tools).
pub fn encode(letters: &[u8]) -> u64 {
    letters
        .iter()
        .fold(0u64, |acc, &letter| (acc << 2) | first_smer_code(letter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revcomp_str(s: &str) -> String {
        s.chars()
            .rev()
            .map(|c| match c {
                'A' => 'T',
                'T' => 'A',
                'C' => 'G',
                'G' => 'C',
                other => other,
            })
            .collect()
    }

    #[test]
    fn reverse_complement_matches_the_string_definition() {
        for s in ["A", "ACGT", "AACCGGTTA", "GATTACAGATTACAGATTACAGATTACAGAT"] {
            assert_eq!(
                reverse_complement(encode(s.as_bytes()), s.len()),
                encode(revcomp_str(s).as_bytes()),
                "{s}"
            );
        }
    }

    #[test]
    fn canonical_smers_are_strand_independent() {
        let table: Vec<u16> = (0..1u32 << 20).map(|m| (m % 4) as u16).collect();
        let hasher = SmerHasher::new(25, 10, 200_000, &table);
        let seq = "CACGCGATCAGCGGAGTGGTAGCCCACAAAGAGTTGTACTCCCAGG";
        let rc = revcomp_str(seq);
        let mut forward = Vec::new();
        hasher.for_each(seq.as_bytes(), |slot| {
            forward.push((slot.partition, slot.row))
        });
        let mut reverse = Vec::new();
        hasher.for_each(rc.as_bytes(), |slot| {
            reverse.push((slot.partition, slot.row))
        });
        reverse.reverse();
        assert_eq!(forward, reverse);
        assert_eq!(forward.len(), seq.len() - 25 + 1);
    }

    #[test]
    fn shared_minimizer_candidates_give_kmindexs_minimizers() {
        let table: Vec<u16> = (0..1u32 << 20).map(|m| (m % 7) as u16).collect();
        let hasher = SmerHasher::new(25, 10, 1000, &table);
        let mut state = 0x1234_5678_9abc_def1u64;
        let seq: Vec<u8> = (0..2000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Runs of A make invalid m-mers common.
                b"ACGTAAAA"[(state % 8) as usize]
            })
            .collect();
        hasher.for_each(&seq, |slot| {
            let code = encode(&seq[slot.pos..slot.pos + 25]);
            let canonical = code.min(reverse_complement(code, 25));
            assert_eq!(slot.partition, table[minimizer(canonical, 25, 10) as usize]);
            assert_eq!(slot.hash, xxh64(&canonical.to_le_bytes(), 0));
        });
    }

    #[test]
    fn sliding_minima_are_window_minima() {
        let values: Vec<u32> = (0..50u32).map(|i| (i * 7919) % 31).collect();
        for width in [1, 2, 5, 16, 50] {
            let expected: Vec<u32> = values
                .windows(width)
                .map(|w| *w.iter().min().unwrap())
                .collect();
            assert_eq!(sliding_min(&values, width), expected, "width {width}");
        }
    }

    #[test]
    fn validity_rejects_aa_pairs_kmtricks_looks_at() {
        assert!(is_valid_minimizer(encode(b"CGTA") as u32, 4));
        assert!(!is_valid_minimizer(encode(b"CGAA") as u32, 4));
        assert!(!is_valid_minimizer(encode(b"CAAG") as u32, 4));
        // kmtricks' mask skips the pair holding the first letter.
        assert!(is_valid_minimizer(encode(b"AACG") as u32, 4));
    }

    #[test]
    fn letters_other_than_acgt_follow_kmindex() {
        // N is C in the first s-mer, G afterwards; lower case is upper case.
        let table: Vec<u16> = vec![0; 1 << 8];
        let hasher = SmerHasher::new(5, 4, 1 << 20, &table);
        let rows = |s: &str| {
            let mut rows = Vec::new();
            hasher.for_each(s.as_bytes(), |slot| rows.push(slot.row));
            rows
        };
        assert_eq!(rows("NACGTN"), rows("CACGTG"));
        assert_eq!(rows("acgtac"), rows("ACGTAC"));
    }
}
