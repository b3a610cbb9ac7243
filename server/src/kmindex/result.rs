//! From the matrix rows of a query's s-mers to kmindex's per-sample answer (kmindex's
//! `query_result`): a k-mer (`z + 1` consecutive s-mers) is in a sample where all its s-mers
//! are; with abundances, its class is the smallest of its s-mers' classes.

/// The rows of one query's s-mers, in query order.
#[derive(Debug, Clone)]
pub struct SmerRows {
    /// Bytes per row.
    pub row_bytes: usize,
    /// `nb_smers × row_bytes` bytes.
    pub data: Vec<u8>,
}

impl SmerRows {
    /// Rows for `nb_smers` s-mers, all zero.
    pub fn zeroed(nb_smers: usize, row_bytes: usize) -> SmerRows {
        SmerRows {
            row_bytes,
            data: vec![0; nb_smers * row_bytes],
        }
    }

    /// Number of s-mers.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.row_bytes).unwrap_or(0)
    }

    /// Whether there are no s-mers.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The row of s-mer `i`.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.data[i * self.row_bytes..(i + 1) * self.row_bytes]
    }

    /// The row of s-mer `i`, to fill.
    pub fn row_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.data[i * self.row_bytes..(i + 1) * self.row_bytes]
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
    pub positions: Option<Vec<Vec<u8>>>,
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
        assert!(rows.len() > z, "a query needs at least z + 1 s-mers");
        let nb_kmers = rows.len() - z;
        let mut positions = with_positions.then(|| vec![Vec::with_capacity(nb_kmers); nb_samples]);
        let mut counts = vec![0u32; nb_samples];
        let ratios;
        if bw == 1 {
            let mut kmer = vec![0u8; rows.row_bytes];
            for i in 0..nb_kmers {
                kmer.copy_from_slice(rows.row(i));
                for j in 1..=z {
                    kmer.iter_mut()
                        .zip(rows.row(i + j))
                        .for_each(|(k, r)| *k &= r);
                }
                for (sample, count) in counts.iter_mut().enumerate() {
                    let present = (kmer[sample / 8] >> (sample % 8)) & 1;
                    *count += u32::from(present);
                    if let Some(positions) = &mut positions {
                        positions[sample].push(present);
                    }
                }
            }
            ratios = counts
                .iter()
                .map(|&c| f64::from(c) / nb_kmers as f64)
                .collect();
        } else {
            let mut present = vec![0u32; nb_samples];
            for i in 0..nb_kmers {
                for sample in 0..nb_samples {
                    let class = (i..=i + z)
                        .map(|s| extract_msb_first(rows.row(s), sample * bw, bw))
                        .min()
                        .expect("z + 1 s-mers");
                    counts[sample] = counts[sample].wrapping_add(class);
                    present[sample] += u32::from(class != 0);
                    if let Some(positions) = &mut positions {
                        // kmindex stores positions as bytes.
                        positions[sample].push(class as u8);
                    }
                }
            }
            // kmindex divides in u32: the mean class is rounded down.
            counts.iter_mut().for_each(|c| *c /= nb_kmers as u32);
            ratios = present
                .iter()
                .map(|&p| f64::from(p) / nb_kmers as f64)
                .collect();
        }
        QueryResult {
            nb_kmers,
            ratios,
            counts,
            positions,
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

    fn rows(data: &[&[u8]]) -> SmerRows {
        SmerRows {
            row_bytes: data[0].len(),
            data: data.concat(),
        }
    }

    #[test]
    fn presence_needs_every_smer_of_the_kmer() {
        // 2 samples; s-mer rows: sample 0 present in s-mers 0,1,2; sample 1 in 0 and 2.
        let r = rows(&[&[0b11], &[0b01], &[0b11]]);
        let z0 = QueryResult::compute(&r, 0, 2, 1, true);
        assert_eq!(z0.counts, [3, 2]);
        assert_eq!(z0.positions.unwrap(), [vec![1, 1, 1], vec![1, 0, 1]]);
        let z1 = QueryResult::compute(&r, 1, 2, 1, true);
        assert_eq!(z1.nb_kmers, 2);
        assert_eq!(z1.ratios, [1.0, 0.0]);
        assert_eq!(z1.positions.unwrap(), [vec![1, 1], vec![0, 0]]);
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
        assert_eq!(z1.positions.unwrap(), [vec![2, 2], vec![0, 0]]);
    }

    #[test]
    fn values_may_straddle_bytes() {
        let mut bytes = [0u8; 2];
        insert_msb_first(&mut bytes, 6, 3, 0b101);
        assert_eq!(bytes, [0b0000_0010, 0b1000_0000]);
        assert_eq!(extract_msb_first(&bytes, 6, 3), 0b101);
    }
}
