//! `index.json`: the sub-indexes an index registers, and where each one's files are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Error;
use super::json::Json;

/// What the registry says of one sub-index (also kmindex-server's `/kmindex/infos` entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub bloom_size: u64,
    /// Bits per sample and row: 1 for presence/absence, more for abundance classes. Old
    /// registries omit it (presence/absence only then).
    #[serde(default = "one")]
    pub bw: usize,
    #[serde(default)]
    pub index_size: u64,
    #[serde(default)]
    pub kmindex_version: String,
    #[serde(default)]
    pub kmtricks_version: String,
    pub minim_size: usize,
    pub nb_partitions: usize,
    pub nb_samples: usize,
    pub samples: Vec<String>,
    #[serde(default)]
    pub sha1: String,
    pub smer_size: usize,
}

fn one() -> usize {
    1
}

/// kmindex's fingerprint of a sub-index's layout: SHA-1 over the Bloom size, partition count,
/// s-mer size, minimizer size and bits per sample (each a little-endian `u64`), then the
/// repartition table. Sub-indexes with the same fingerprint can be merged.
pub fn kmindex_sha1(
    bloom_size: u64,
    nb_partitions: u64,
    smer_size: u64,
    minim_size: u64,
    bw: u64,
    repartition: &[u16],
) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    for field in [bloom_size, nb_partitions, smer_size, minim_size, bw] {
        sha1.update(&field.to_le_bytes());
    }
    let table: Vec<u8> = repartition.iter().flat_map(|p| p.to_le_bytes()).collect();
    sha1.update(&table);
    sha1.digest().to_string()
}

/// A parsed `index.json`.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The index directory.
    pub dir: PathBuf,
    /// The document as kmindex reads it (all keys, including `path`).
    pub document: Json,
    /// Sub-indexes by name.
    pub entries: BTreeMap<String, Entry>,
}

impl Registry {
    /// Reads `dir/index.json`.
    pub fn read(dir: &Path) -> Result<Registry, Error> {
        let path = dir.join("index.json");
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| Error::invalid(&path, format!("not JSON: {e}")))?;
        let Some(index) = value.get("index").and_then(|v| v.as_object()) else {
            return Err(Error::invalid(&path, "no \"index\" object"));
        };
        let mut entries = BTreeMap::new();
        for (name, entry) in index {
            let entry: Entry = serde_json::from_value(entry.clone())
                .map_err(|e| Error::invalid(&path, format!("sub-index '{name}': {e}")))?;
            if entry.samples.len() != entry.nb_samples {
                return Err(Error::invalid(
                    &path,
                    format!(
                        "sub-index '{name}': nb_samples is {} but {} samples are listed",
                        entry.nb_samples,
                        entry.samples.len()
                    ),
                ));
            }
            entries.insert(name.clone(), entry);
        }
        Ok(Registry {
            dir: dir.to_owned(),
            document: Json::from(value),
            entries,
        })
    }

    /// Registers sub-index `name` with `entry`, creating `dir/index.json` if there is none and
    /// keeping the sub-indexes already registered. The file is replaced in one rename, so a
    /// failure leaves the previous registry whole.
    pub fn register(dir: &Path, name: &str, entry: &Entry) -> Result<Registry, Error> {
        let path = dir.join("index.json");
        let mut document = if path.exists() {
            Registry::read(dir)?.document
        } else {
            Json::object()
        };
        if let Json::Object(members) = &mut document
            && let Some(Json::Object(index)) = members.get("index")
            && index.contains_key(name)
        {
            return Err(Error::invalid(
                &path,
                format!("'{name}' is already registered"),
            ));
        }
        let absolute = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
        *document.entry("path") = Json::Str(absolute.to_string_lossy().into_owned());
        let value = serde_json::to_value(entry).expect("an entry is plain data");
        *document.entry("index").entry(name) = Json::from(value);
        let staging = dir.join(format!(".index.json.{}", std::process::id()));
        std::fs::write(&staging, format!("{}\n", document.pretty()))
            .map_err(|e| Error::io(&staging, e))?;
        std::fs::rename(&staging, &path).map_err(|e| Error::io(&path, e))?;
        Registry::read(dir)
    }

    /// The directory of sub-index `name`: `dir/name` is a symbolic link (relative targets are
    /// resolved against `dir`, the link's folder), a plain file holding the link's target (how
    /// git checks a link out where links are off), or the directory itself.
    pub fn sub_index_dir(&self, name: &str) -> Result<PathBuf, Error> {
        let link = self.dir.join(name);
        let meta = std::fs::symlink_metadata(&link).map_err(|e| Error::io(&link, e))?;
        let target = if meta.is_symlink() {
            std::fs::read_link(&link).map_err(|e| Error::io(&link, e))?
        } else if meta.is_file() {
            let text = std::fs::read_to_string(&link).map_err(|e| Error::io(&link, e))?;
            PathBuf::from(text.trim())
        } else {
            return Ok(link);
        };
        Ok(if target.is_absolute() {
            target
        } else {
            self.dir.join(target)
        })
    }
}
