//! `hash.info`: how the Bloom filter's rows are split into partitions (kmtricks' `HashWindow`).
//!
//! Five little-endian fields: `u64` Bloom size, `u64` partition count, `u64` rows per partition
//! (the *window*, in bits), `u64` the same in bytes, `u32` minimizer size.

use std::path::Path;

use super::{Error, FieldReader};

/// The sizes `hash.info` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashInfo {
    /// Rows in the whole Bloom filter (window × partitions).
    pub bloom_size: u64,
    /// Number of partitions.
    pub nb_partitions: u64,
    /// Rows per partition: an s-mer's row is its hash modulo this.
    pub window_bits: u64,
    /// Minimizer size the repartition table was built for.
    pub minim_size: u32,
}

impl HashInfo {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<HashInfo, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut fields = FieldReader::new(path, &bytes);
        let bloom_size = fields.u64("bloom_size")?;
        let nb_partitions = fields.u64("nb_partitions")?;
        let window_bits = fields.u64("window_size_bits")?;
        let _window_bytes = fields.u64("window_size_bytes")?;
        let minim_size = fields.u32("minim_size")?;
        if nb_partitions == 0 || nb_partitions > u64::from(u16::MAX) {
            return Err(fields.error(format!("{nb_partitions} partitions")));
        }
        if window_bits == 0 {
            return Err(fields.error("window of 0 rows".into()));
        }
        Ok(HashInfo {
            bloom_size,
            nb_partitions,
            window_bits,
            minim_size,
        })
    }

    /// What kmtricks writes for a Bloom filter of about `bloom_size` rows: the window is
    /// `bloom_size / nb_partitions` rounded up to a multiple of 64.
    pub fn for_bloom_size(bloom_size: u64, nb_partitions: u64, minim_size: u32) -> HashInfo {
        let window_bits = bloom_size.div_ceil(nb_partitions).next_multiple_of(64);
        HashInfo {
            bloom_size: window_bits * nb_partitions,
            nb_partitions,
            window_bits,
            minim_size,
        }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36);
        out.extend(self.bloom_size.to_le_bytes());
        out.extend(self.nb_partitions.to_le_bytes());
        out.extend(self.window_bits.to_le_bytes());
        out.extend((self.window_bits / 8).to_le_bytes());
        out.extend(self.minim_size.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_it_reads() {
        let info = HashInfo::for_bloom_size(800_000, 4, 10);
        assert_eq!(info.window_bits, 200_000);
        let dir = std::env::temp_dir().join(format!("kmviz-hash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hash.info");
        std::fs::write(&path, info.to_bytes()).unwrap();
        assert_eq!(HashInfo::read(&path).unwrap(), info);
        std::fs::write(&path, &info.to_bytes()[..34]).unwrap();
        let err = HashInfo::read(&path).unwrap_err().to_string();
        assert!(err.contains("file ends before minim_size"), "{err}");
        assert!(err.contains("byte 32"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
