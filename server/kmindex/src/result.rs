//! From the matrix rows of a query's s-mers to kmindex's per-sample answer (kmindex's
//! `query_result`): a k-mer (`z + 1` consecutive s-mers) is in a sample where all its s-mers
//! are; with abundances, its class is the smallest of its s-mers' classes.

use app::model::results::Kmers;

/// The rows of one query's s-mers, in query order, each zero-padded to whole 8-byte words so
/// that presence rows are read a word (64 samples) at a time.
#[derive(Debug, Clone, Default)]
pub struct SmerRows {
    /// Bytes per row, as in the matrices.
    pub row_bytes: usize,
    /// Bytes from one row to the next: `row_bytes` rounded up to whole words.
    stride: usize,
    data: Vec<u8>,
}

impl SmerRows {
    /// Rows for `nb_smers` s-mers, all zero.
    pub fn zeroed(nb_smers: usize, row_bytes: usize) -> SmerRows {
        let mut rows = SmerRows {
            row_bytes,
            stride: row_bytes.div_ceil(8) * 8,
            data: Vec::new(),
        };
        rows.resize(nb_smers);
        rows
    }

    /// Rows of `row_bytes` bytes each, from their concatenation (tests and tools).
    pub fn from_rows(row_bytes: usize, rows: &[u8]) -> SmerRows {
        let mut all = SmerRows::zeroed(rows.len() / row_bytes, row_bytes);
        for (i, row) in rows.chunks_exact(row_bytes).enumerate() {
            all.row_mut(i).copy_from_slice(row);
        }
        all
    }

    /// Room for `nb_smers` rows; rows kept from before are to be overwritten (their padding
    /// is zero, as it always stays).
    pub fn resize(&mut self, nb_smers: usize) {
        self.data.resize(nb_smers * self.stride, 0);
    }

    /// Number of s-mers.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.stride).unwrap_or(0)
    }

    /// Whether there are no s-mers.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Words per row.
    pub fn words(&self) -> usize {
        self.stride / 8
    }

    /// The row of s-mer `i`.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.data[i * self.stride..i * self.stride + self.row_bytes]
    }

    /// The row of s-mer `i`, to fill.
    pub fn row_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.data[i * self.stride..i * self.stride + self.row_bytes]
    }

    /// The row of s-mer `i` with its padding, to fill whole words.
    pub fn padded_row_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.data[i * self.stride..(i + 1) * self.stride]
    }

    /// Word `w` of the row of s-mer `i`: samples `64 w ..`, least significant bit first.
    #[inline]
    pub fn word(&self, i: usize, w: usize) -> u64 {
        let at = i * self.stride + w * 8;
        u64::from_le_bytes(self.data[at..at + 8].try_into().expect("8 bytes"))
    }
}

/// One query's answer in one sub-index, per sample (kmindex's `query_result`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Number of k-mers of the query (`L - s - z + 1`).
    pub nb_kmers: usize,
    /// Per sample: fraction of k-mers present.
    pub ratios: Vec<f64>,
    /// Per sample: k-mers present (presence/absence), or the mean abundance class, rounded
    /// down (abundance).
    pub counts: Vec<u32>,
    /// Per sample and k-mer: presence (0/1) or abundance class; only when asked for.
    pub positions: Option<Positions>,
}

impl QueryResult {
    /// Computes the answer from the s-mer rows of a query with at least `z + 1` s-mers.
    pub fn compute(
        rows: &SmerRows,
        z: usize,
        nb_samples: usize,
        bw: usize,
        with_positions: bool,
    ) -> QueryResult {
        let mut answer = Answer::new(nb_samples, bw, rows.row_bytes, with_positions);
        answer.add(rows, z);
        answer.finish()
    }
}

/// Every sample's per-k-mer values as `[value, count]` runs, one sample after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positions {
    runs: Vec<[u32; 2]>,
    /// Sample `i`'s runs are `runs[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
}

impl Positions {
    /// Sample `sample`'s runs, left to right.
    pub fn runs(&self, sample: usize) -> &[[u32; 2]] {
        &self.runs[self.offsets[sample] as usize..self.offsets[sample + 1] as usize]
    }

    /// Sample `sample`'s values.
    pub fn kmers(&self, sample: usize) -> Kmers {
        Kmers::from_runs(self.runs(sample).to_vec())
    }
}

/// A query's answer built k-mer by k-mer from its s-mer rows, given a stretch at a time so
/// that a long query never holds all its rows at once.
///
/// Only changes are recorded: where a sample's value differs from the k-mer before. Presence
/// rows are compared a word (64 samples) at a time, so samples whose value stays (most: absent
/// or present all along) cost nothing per k-mer. Runs, counts and ratios are read off the
/// changes at the end.
#[derive(Debug)]
pub struct Answer {
    nb_samples: usize,
    bw: usize,
    nb_kmers: u32,
    /// With the values: `[sample, k-mer, value]`, from that k-mer on that sample has that
    /// value; in k-mer order. Every sample starts at 0.
    changes: Vec<[u32; 3]>,
    /// Without the values, per sample: the k-mer its value has held since, the k-mers found
    /// before it and the sum of their values; nothing grows with the query.
    totals: Option<Vec<[u32; 3]>>,
    /// Abundance: each sample's current class.
    classes: Vec<u32>,
    /// Presence/absence: the last k-mer's row (the AND of its s-mers' rows), as words.
    previous: Vec<u64>,
}

impl Answer {
    /// `with_positions`: keep each sample's values (else only its counts).
    pub fn new(nb_samples: usize, bw: usize, row_bytes: usize, with_positions: bool) -> Answer {
        Answer {
            nb_samples,
            bw,
            nb_kmers: 0,
            // Most samples change at most a few times in a query: room for two each.
            changes: Vec::with_capacity(if with_positions { 2 * nb_samples } else { 0 }),
            totals: (!with_positions).then(|| vec![[0; 3]; nb_samples]),
            classes: if bw == 1 {
                Vec::new()
            } else {
                vec![0; nb_samples]
            },
            previous: vec![0; row_bytes.div_ceil(8)],
        }
    }

    /// From k-mer `at` on, sample `sample` has `value` (its value so far is `before`).
    #[inline]
    fn change(&mut self, sample: u32, at: u32, before: u32, value: u32) {
        match &mut self.totals {
            None => self.changes.push([sample, at, value]),
            Some(totals) => {
                let [since, present, sum] = &mut totals[sample as usize];
                if before != 0 {
                    *present += at - *since;
                    // kmindex sums classes in u32.
                    *sum = sum.wrapping_add(before.wrapping_mul(at - *since));
                }
                *since = at;
            }
        }
    }

    /// Adds the k-mers of consecutive s-mer `rows`: `rows.len() - z` of them, the last `z`
    /// rows only completing the last k-mers (the next stretch starts with them again).
    pub fn add(&mut self, rows: &SmerRows, z: usize) {
        let n = rows.len().saturating_sub(z);
        for i in 0..n {
            let at = self.nb_kmers;
            if self.bw == 1 {
                for w in 0..self.previous.len() {
                    let mut kmer = rows.word(i, w);
                    for j in 1..=z {
                        kmer &= rows.word(i + j, w);
                    }
                    let mut changed = kmer ^ self.previous[w];
                    self.previous[w] = kmer;
                    while changed != 0 {
                        let bit = changed.trailing_zeros();
                        changed &= changed - 1;
                        let sample = w as u32 * 64 + bit;
                        if (sample as usize) < self.nb_samples {
                            let now = (kmer >> bit) as u32 & 1;
                            self.change(sample, at, 1 - now, now);
                        }
                    }
                }
            } else {
                for sample in 0..self.nb_samples {
                    let class = (i..=i + z)
                        .map(|s| extract_msb_first(rows.row(s), sample * self.bw, self.bw))
                        .min()
                        .expect("z + 1 s-mers");
                    let before = self.classes[sample];
                    if class != before {
                        self.classes[sample] = class;
                        self.change(sample as u32, at, before, class);
                    }
                }
            }
            self.nb_kmers += 1;
        }
    }

    /// The answer, with each sample's values when asked for.
    pub fn finish(mut self) -> QueryResult {
        assert!(self.nb_kmers > 0, "a query needs at least z + 1 s-mers");
        let n = self.nb_kmers;
        if self.totals.is_some() {
            for sample in 0..self.nb_samples {
                // Presence: the current value is the last k-mer's bit.
                let value = if self.bw == 1 {
                    (self.previous[sample / 64] >> (sample % 64)) as u32 & 1
                } else {
                    self.classes[sample]
                };
                self.change(sample as u32, n, value, 0);
            }
            let (bw, totals) = (self.bw, self.totals.expect("counted"));
            return QueryResult {
                nb_kmers: n as usize,
                ratios: totals
                    .iter()
                    .map(|[_, present, _]| f64::from(*present) / f64::from(n))
                    .collect(),
                counts: totals
                    .iter()
                    .map(|[_, present, sum]| if bw == 1 { *present } else { sum / n })
                    .collect(),
                positions: None,
            };
        }
        let (samples, changes) = (self.nb_samples, self.changes);
        // The changes grouped by sample, each sample's in k-mer order (a counting sort).
        let mut first = vec![0u32; samples + 1];
        for &[sample, ..] in &changes {
            first[sample as usize + 1] += 1;
        }
        for i in 0..samples {
            first[i + 1] += first[i];
        }
        let mut next = first.clone();
        let mut by_sample = vec![[0u32; 2]; changes.len()];
        for &[sample, at, value] in &changes {
            by_sample[next[sample as usize] as usize] = [at, value];
            next[sample as usize] += 1;
        }
        drop(changes);
        let mut runs: Vec<[u32; 2]> = Vec::with_capacity(by_sample.len() + samples);
        let mut offsets = Vec::with_capacity(samples + 1);
        offsets.push(0u32);
        let (mut ratios, mut counts) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
        for sample in 0..samples {
            let (mut start, mut value) = (0u32, 0u32);
            let (mut present, mut sum) = (0u32, 0u32);
            let changes = &by_sample[first[sample] as usize..first[sample + 1] as usize];
            for &[at, new] in changes.iter().chain([&[n, 0]]) {
                if at > start {
                    runs.push([value, at - start]);
                    if value != 0 {
                        present += at - start;
                        // kmindex sums classes in u32.
                        sum = sum.wrapping_add(value.wrapping_mul(at - start));
                    }
                }
                (start, value) = (at, new);
            }
            offsets.push(runs.len() as u32);
            ratios.push(f64::from(present) / f64::from(n));
            // Presence: k-mers found; abundance: the mean class, rounded down as kmindex does.
            counts.push(if self.bw == 1 { present } else { sum / n });
        }
        QueryResult {
            nb_kmers: n as usize,
            ratios,
            counts,
            positions: Some(Positions { runs, offsets }),
        }
    }
}

/// The `width`-bit value at bit `offset`, bits counted from the most significant bit of the
/// first byte (kmindex's bitpacker).
pub fn extract_msb_first(bytes: &[u8], offset: usize, width: usize) -> u32 {
    (offset..offset + width).fold(0u32, |acc, bit| {
        (acc << 1) | u32::from((bytes[bit / 8] >> (7 - bit % 8)) & 1)
    })
}

/// Writes `value` on `width` bits at bit `offset`, most significant bit first.
pub fn insert_msb_first(bytes: &mut [u8], offset: usize, width: usize, value: u32) {
    for i in 0..width {
        let bit = offset + i;
        let mask = 1u8 << (7 - bit % 8);
        if (value >> (width - 1 - i)) & 1 == 1 {
            bytes[bit / 8] |= mask;
        } else {
            bytes[bit / 8] &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(result: QueryResult, nb_samples: usize) -> Vec<Vec<u32>> {
        let positions = result.positions.unwrap();
        (0..nb_samples)
            .map(|s| positions.kmers(s).values())
            .collect()
    }

    fn rows(data: &[&[u8]]) -> SmerRows {
        SmerRows::from_rows(data[0].len(), &data.concat())
    }

    #[test]
    fn presence_needs_every_smer_of_the_kmer() {
        // 2 samples; s-mer rows: sample 0 present in s-mers 0,1,2; sample 1 in 0 and 2.
        let r = rows(&[&[0b11], &[0b01], &[0b11]]);
        let z0 = QueryResult::compute(&r, 0, 2, 1, true);
        assert_eq!(z0.counts, [3, 2]);
        assert_eq!(values(z0, 2), [vec![1, 1, 1], vec![1, 0, 1]]);
        let z1 = QueryResult::compute(&r, 1, 2, 1, true);
        assert_eq!(z1.nb_kmers, 2);
        assert_eq!(z1.ratios, [1.0, 0.0]);
        assert_eq!(values(z1, 2), [vec![1, 1], vec![0, 0]]);
    }

    #[test]
    fn abundance_takes_the_smallest_class_and_the_floor_of_the_mean() {
        let mut a = [0u8; 1];
        insert_msb_first(&mut a, 0, 2, 3);
        insert_msb_first(&mut a, 2, 2, 1);
        assert_eq!(a, [0b1101_0000]);
        assert_eq!(extract_msb_first(&a, 0, 2), 3);
        assert_eq!(extract_msb_first(&a, 2, 2), 1);
        let mut b = [0u8; 1];
        insert_msb_first(&mut b, 0, 2, 2);
        let r = rows(&[&a, &b, &a]);
        let z0 = QueryResult::compute(&r, 0, 2, 2, true);
        // sample 0: classes 3, 2, 3 → mean 8/3 rounded down; sample 1: 1, 0, 1.
        assert_eq!(z0.counts, [2, 0]);
        assert_eq!(z0.ratios, [1.0, 2.0 / 3.0]);
        let z1 = QueryResult::compute(&r, 1, 2, 2, true);
        assert_eq!(values(z1, 2), [vec![2, 2], vec![0, 0]]);
    }

    #[test]
    fn stretches_added_one_by_one_give_the_whole_answer() {
        // 11 samples (two bytes per row), 40 s-mers of pseudo-random rows, z = 2.
        let mut state = 7u64;
        let data: Vec<u8> = (0..80)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                (state >> 56) as u8 | 0b1000_0001
            })
            .collect();
        let all = SmerRows::from_rows(2, &data);
        let whole = QueryResult::compute(&all, 2, 11, 1, true);
        let mut answer = Answer::new(11, 1, 2, true);
        // k-mers 0..15, 15..30, 30..38: s-mers 0..17, 15..32, 30..40.
        for (first, last) in [(0, 17), (15, 32), (30, 40)] {
            answer.add(&SmerRows::from_rows(2, &data[first * 2..last * 2]), 2);
        }
        assert_eq!(answer.finish(), whole);
        // Counted without the values: the same counts and ratios.
        let counted = QueryResult::compute(&all, 2, 11, 1, false);
        assert_eq!(
            (&counted.counts, &counted.ratios),
            (&whole.counts, &whole.ratios)
        );
        assert_eq!(counted.positions, None);
        assert_eq!(whole.nb_kmers, 38);
        // Samples 0 and 7 are set in every row.
        assert_eq!(whole.counts[0], 38);
        assert_eq!(whole.counts[7], 38);
        let naive: Vec<u32> = (0..38)
            .map(|i| (i..=i + 2).all(|s| data[s * 2] >> 3 & 1 == 1) as u32)
            .collect();
        assert_eq!(values(whole, 11)[3], naive);
    }

    #[test]
    fn rows_of_several_words_match_the_definition() {
        // 150 samples: 19 bytes a row, three words; sparse bits, z = 1.
        let (samples, row_bytes, smers) = (150, 19, 30);
        let mut state = 11u64;
        let data: Vec<u8> = (0..row_bytes * smers)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((state >> 40) & (state >> 52)) as u8
            })
            .collect();
        let result =
            QueryResult::compute(&SmerRows::from_rows(row_bytes, &data), 1, samples, 1, true);
        let bit = |s: usize, sample: usize| data[s * row_bytes + sample / 8] >> (sample % 8) & 1;
        let all = values(result.clone(), samples);
        for (sample, got) in all.iter().enumerate() {
            let naive: Vec<u32> = (0..smers - 1)
                .map(|i| u32::from(bit(i, sample) & bit(i + 1, sample)))
                .collect();
            assert_eq!(got, &naive, "sample {sample}");
            assert_eq!(result.counts[sample], naive.iter().sum::<u32>());
        }
    }

    #[test]
    fn values_may_straddle_bytes() {
        let mut bytes = [0u8; 2];
        insert_msb_first(&mut bytes, 6, 3, 0b101);
        assert_eq!(bytes, [0b0000_0010, 0b1000_0000]);
        assert_eq!(extract_msb_first(&bytes, 6, 3), 0b101);
    }
}
