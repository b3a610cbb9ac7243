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
