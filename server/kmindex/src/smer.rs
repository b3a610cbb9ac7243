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
    window: Modulo,
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
            window: Modulo::new(window),
            repartition,
        }
    }

    /// Calls `visit` with the slot of every s-mer of `seq`, left to right.
    pub fn for_each(&self, seq: &[u8], visit: impl FnMut(SmerSlot)) {
        let all = 0..(seq.len() + 1).saturating_sub(self.smer_size);
        self.for_each_in(seq, all, visit);
    }

    /// Calls `visit` with the slot of s-mers `smers` of `seq` (positions in `seq`), left to
    /// right: a stretch of a long sequence, encoded as in the whole sequence.
    pub fn for_each_in(
        &self,
        seq: &[u8],
        smers: std::ops::Range<usize>,
        mut visit: impl FnMut(SmerSlot),
    ) {
        let (s, m) = (self.smer_size, self.minim_size);
        if smers.is_empty() || smers.end + s - 1 > seq.len() {
            return;
        }
        let offset = smers.start;
        let (smer_mask, mmer_mask) = ((1u64 << (2 * s)) - 1, (1u64 << (2 * m)) - 1);
        // An s-mer's minimizer is the smallest of its `width` m-mers' values, and the canonical
        // m-mers of an s-mer and of its reverse complement are the same: each m-mer's value is
        // computed once, kept in a ring of the last `width`, and the window's minimum is
        // followed as letters come (the ring is read again only when the minimum leaves it).
        let width = s - m + 1;
        let mut ring = [0u32; RING];
        // The reverse complements roll too: each new letter's complement enters at the top.
        let (mut smer, mut mmer) = (0u64, 0u64);
        let (mut smer_rc, mut mmer_rc) = (0u64, 0u64);
        let (smer_top, mmer_top) = (2 * (s - 1), 2 * (m - 1));
        let (mut best, mut best_at) = (u32::MAX, 0usize);
        // The minimizer changes every few s-mers: its partition is read from the (large)
        // repartition table only when it does.
        let (mut partition, mut partition_of) = (0u16, u32::MAX);
        for (p, &letter) in seq[offset..smers.end + s - 1].iter().enumerate() {
            // The first s letters of the sequence use their own table.
            let code = if offset + p < s {
                first_smer_code(letter)
            } else {
                next_letter_code(letter)
            };
            smer = ((smer << 2) | code) & smer_mask;
            mmer = ((mmer << 2) | code) & mmer_mask;
            smer_rc = (smer_rc >> 2) | ((code ^ 2) << smer_top);
            mmer_rc = (mmer_rc >> 2) | ((code ^ 2) << mmer_top);
            if p + 1 < m {
                continue;
            }
            let j = p + 1 - m;
            let canonical = mmer.min(mmer_rc) as u32;
            let candidate = if is_valid_minimizer(canonical, m) {
                canonical
            } else {
                mmer_mask as u32
            };
            ring[j % RING] = candidate;
            if candidate <= best {
                (best, best_at) = (candidate, j);
            } else if best_at + width <= j {
                best = u32::MAX;
                for t in j + 1 - width..=j {
                    if ring[t % RING] <= best {
                        (best, best_at) = (ring[t % RING], t);
                    }
                }
            }
            if p + 1 < s {
                continue;
            }
            if best != partition_of {
                (partition, partition_of) = (self.repartition[best as usize], best);
            }
            let hash = xxh64_of_u64(smer.min(smer_rc));
            visit(SmerSlot {
                pos: offset + p + 1 - s,
                partition,
                hash,
                row: self.window.of(hash),
            });
        }
    }
}

/// `x % divisor` by multiplications (Lemire, Kaser and Kurz, "Faster remainder by direct
/// computation", 2019, with a 128-bit inverse for 64-bit operands): every s-mer's hash is
/// reduced, and a 64-bit division costs several multiplications.
#[derive(Debug, Clone, Copy)]
struct Modulo {
    divisor: u64,
    /// `ceil(2^128 / divisor)`, wrapped to 0 for 1 (where every remainder is 0).
    inverse: u128,
}

impl Modulo {
    fn new(divisor: u64) -> Modulo {
        assert!(divisor > 0, "a window of at least one row");
        Modulo {
            divisor,
            inverse: (u128::MAX / u128::from(divisor)).wrapping_add(1),
        }
    }

    #[inline]
    fn of(self, x: u64) -> u64 {
        let fraction = self.inverse.wrapping_mul(u128::from(x));
        // The top 64 bits of the 192-bit product `fraction × divisor`.
        let divisor = u128::from(self.divisor);
        let high = u128::from((fraction >> 64) as u64) * divisor;
        let low = u128::from(fraction as u64) * divisor;
        ((high + (low >> 64)) >> 64) as u64
    }
}

/// The ring of m-mer values: at least the most m-mers an s-mer has (`31 - 3 + 1`).
const RING: usize = 32;

/// xxHash64 (seed 0) of `value`'s 8 little-endian bytes: the one input size kmindex hashes,
/// with the general function's length dispatch and tail loop taken out.
#[inline]
fn xxh64_of_u64(value: u64) -> u64 {
    const P1: u64 = 0x9E37_79B1_85EB_CA87;
    const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    const P3: u64 = 0x1656_67B1_9E37_79F9;
    const P4: u64 = 0x85EB_CA77_C2B2_AE63;
    const P5: u64 = 0x27D4_EB2F_1656_67C5;
    let lane = value.wrapping_mul(P2).rotate_left(31).wrapping_mul(P1);
    let mut h = P5.wrapping_add(8) ^ lane;
    h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
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

/// Reverse complement of the `len`-letter code `code` (`len <= 32`): the definition the
/// rolled reverse complements of [`SmerHasher::for_each_in`] are checked against.
#[cfg(test)]
fn reverse_complement(code: u64, len: usize) -> u64 {
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
    use xxhash_rust::xxh64::xxh64;

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
    fn modulo_matches_the_remainder_operator() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut divisors = vec![
            1,
            2,
            3,
            7,
            1 << 20,
            (1 << 32) - 1,
            1 << 32,
            1 << 63,
            u64::MAX,
        ];
        divisors.extend((0..200).map(|_| next() >> (next() % 64)).filter(|&d| d > 0));
        for divisor in divisors {
            let modulo = Modulo::new(divisor);
            for x in [
                0,
                1,
                divisor - 1,
                divisor,
                divisor.wrapping_add(1),
                u64::MAX,
            ] {
                assert_eq!(modulo.of(x), x % divisor, "{x} % {divisor}");
            }
            for _ in 0..2000 {
                let x = next();
                assert_eq!(modulo.of(x), x % divisor, "{x} % {divisor}");
            }
        }
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
    fn followed_minima_give_kmindexs_minimizers() {
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
        // The most and the fewest m-mers per s-mer, and kmindex's defaults.
        for (s, m) in [(25, 10), (31, 3), (7, 7), (15, 8)] {
            let table: Vec<u16> = (0..1u32 << (2 * m)).map(|v| (v % 7919) as u16).collect();
            let hasher = SmerHasher::new(s, m, 1000, &table);
            let mut seen = 0;
            hasher.for_each(&seq, |slot| {
                let code = encode(&seq[slot.pos..slot.pos + s]);
                let canonical = code.min(reverse_complement(code, s));
                let want = table[minimizer(canonical, s, m) as usize];
                assert_eq!(slot.partition, want, "s {s}, m {m}, s-mer {}", slot.pos);
                assert_eq!(slot.hash, xxh64(&canonical.to_le_bytes(), 0));
                seen += 1;
            });
            assert_eq!(seen, seq.len() - s + 1);
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

    #[test]
    fn the_eight_byte_hash_is_xxh64() {
        let mut x = 0x0123_4567_89AB_CDEFu64;
        for _ in 0..10_000 {
            assert_eq!(xxh64_of_u64(x), xxh64(&x.to_le_bytes(), 0));
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
        }
        assert_eq!(xxh64_of_u64(0), xxh64(&[0; 8], 0));
    }

    #[test]
    fn stretches_are_hashed_as_in_the_whole_sequence() {
        let table: Vec<u16> = (0..1u32 << 8).map(|i| (i % 5) as u16).collect();
        let hasher = SmerHasher::new(7, 4, 1 << 20, &table);
        // Letters other than ACGT at the start and later are encoded by position in the
        // whole sequence, whatever the stretch.
        let seq = b"NNACGTRACGTTGCANNACGATCGATCGGATCYAGCTAGCTAGGCTAN";
        let mut whole = Vec::new();
        hasher.for_each(seq, |slot| whole.push(slot));
        let mut stretched = Vec::new();
        for range in [0..3, 3..4, 4..20, 20..seq.len() - 6] {
            hasher.for_each_in(seq, range, |slot| stretched.push(slot));
        }
        assert_eq!(stretched, whole);
        assert_eq!(whole.len(), seq.len() - 6);
    }
}
