//! A HyperLogLog sketch (Flajolet et al. 2007) of the distinct s-mers of a sample, to size the
//! Bloom filter before filling it: 4096 one-byte registers, about 1.6% standard error.

const BITS: u32 = 12;
const REGISTERS: usize = 1 << BITS;

/// Distinct-count sketch over 64-bit hashes.
#[derive(Debug, Clone)]
pub struct Sketch {
    registers: Vec<u8>,
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch {
            registers: vec![0; REGISTERS],
        }
    }

    /// Adds a (well mixed) hash.
    pub fn add(&mut self, hash: u64) {
        let register = (hash >> (64 - BITS)) as usize;
        let rank = ((hash << BITS) | (1 << (BITS - 1))).leading_zeros() as u8 + 1;
        let slot = &mut self.registers[register];
        *slot = (*slot).max(rank);
    }

    /// The estimated number of distinct hashes added.
    pub fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            // Few items: linear counting is more accurate.
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_within_a_few_percent() {
        for n in [100u64, 10_000, 1_000_000] {
            let mut sketch = Sketch::new();
            for i in 0..n {
                // Each value added twice: duplicates do not count.
                let hash = xxhash_rust::xxh64::xxh64(&i.to_le_bytes(), 7);
                sketch.add(hash);
                sketch.add(hash);
            }
            let estimate = sketch.estimate() as f64;
            assert!((estimate / n as f64 - 1.0).abs() < 0.05, "{n}: {estimate}");
        }
    }
}
