//! `repartition_gatb/repartition.minimRepart`: the partition of every minimizer (GATB's format).
//!
//! Little-endian: `u16` partition count, `u64` minimizer count (4^m), `u16` pass count, one
//! `u16` partition per minimizer, a `u8` "has frequencies" flag, `u32` magic `0x12345678`.

use std::path::Path;

use super::{Error, FieldReader};

const MAGIC: u32 = 0x1234_5678;

/// Minimizer → partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repartition {
    table: Vec<u16>,
}

impl Repartition {
    /// Reads `path` and checks it covers every minimizer of size `minim_size` and names only
    /// partitions below `nb_partitions`.
    pub fn read(path: &Path, minim_size: u32, nb_partitions: u64) -> Result<Repartition, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut fields = FieldReader::new(path, &bytes);
        let parts = fields.u16("nb_partitions")?;
        let count = fields.u64("nb_minimizers")?;
        let _passes = fields.u16("nb_passes")?;
        let expected = 1u64 << (2 * minim_size);
        if count != expected {
            return Err(fields.error(format!(
                "{count} minimizers, expected 4^{minim_size} = {expected}"
            )));
        }
        if u64::from(parts) != nb_partitions {
            return Err(fields.error(format!(
                "{parts} partitions, hash.info says {nb_partitions}"
            )));
        }
        let start = fields.offset;
        let raw = fields.slice(2 * count as usize, "partition table")?;
        let table: Vec<u16> = raw
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        if let Some(at) = table.iter().position(|&p| p >= parts) {
            return Err(Error::Format {
                path: path.to_owned(),
                offset: (start + 2 * at) as u64,
                what: format!("partition {} out of {parts}", table[at]),
            });
        }
        let _has_frequencies = fields.u8("has_frequencies")?;
        let magic = fields.u32("magic")?;
        if magic != MAGIC {
            return Err(fields.error(format!("magic {magic:#x}, expected {MAGIC:#x}")));
        }
        Ok(Repartition { table })
    }

    /// Wraps a table of partitions, one per minimizer value.
    pub fn from_table(table: Vec<u16>) -> Repartition {
        Repartition { table }
    }

    /// The partition of every minimizer value.
    pub fn table(&self) -> &[u16] {
        &self.table
    }

    /// The file's bytes for `nb_partitions` partitions.
    pub fn to_bytes(&self, nb_partitions: u16) -> Vec<u8> {
        let mut out = Vec::with_capacity(17 + 2 * self.table.len());
        out.extend(nb_partitions.to_le_bytes());
        out.extend((self.table.len() as u64).to_le_bytes());
        out.extend(1u16.to_le_bytes());
        for partition in &self.table {
            out.extend(partition.to_le_bytes());
        }
        out.push(0);
        out.extend(MAGIC.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bad_files() {
        let dir = std::env::temp_dir().join(format!("kmviz-repart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("repartition.minimRepart");
        let table: Vec<u16> = (0..16u16).map(|m| m % 3).collect();
        let repart = Repartition::from_table(table);
        let bytes = repart.to_bytes(3);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Repartition::read(&path, 2, 3).unwrap(), repart);

        let err = Repartition::read(&path, 3, 3).unwrap_err().to_string();
        assert!(err.contains("16 minimizers, expected 4^3 = 64"), "{err}");
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] = 0;
        std::fs::write(&path, &bad).unwrap();
        let err = Repartition::read(&path, 2, 3).unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
