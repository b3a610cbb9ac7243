//! A whole kmindex index: its registry and its sub-indexes, opened once and shared.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;
use super::json::Json;
use super::registry::Registry;
use super::sub_index::SubIndex;

/// An opened index.
#[derive(Debug)]
pub struct Index {
    registry: Registry,
    subs: BTreeMap<String, SubIndex>,
}

impl Index {
    /// Opens every sub-index `dir/index.json` registers.
    pub fn open(dir: &Path) -> Result<Index, Error> {
        let registry = Registry::read(dir)?;
        let names: Vec<String> = registry.entries.keys().cloned().collect();
        Self::open_some(registry, &names)
    }

    /// Opens only the sub-indexes named (each must be registered).
    pub fn open_only(dir: &Path, names: &[String]) -> Result<Index, Error> {
        Self::open_some(Registry::read(dir)?, names)
    }

    fn open_some(registry: Registry, names: &[String]) -> Result<Index, Error> {
        let mut subs = BTreeMap::new();
        for name in names {
            let Some(entry) = registry.entries.get(name) else {
                let known: Vec<&str> = registry.entries.keys().map(String::as_str).collect();
                return Err(Error::Invalid {
                    path: registry.dir.join("index.json"),
                    what: format!("no sub-index '{name}' (registered: {})", known.join(", ")),
                });
            };
            let dir = registry.sub_index_dir(name)?;
            subs.insert(name.clone(), SubIndex::open(name, &dir, entry.clone())?);
        }
        Ok(Index { registry, subs })
    }

    /// The opened sub-index `name`.
    pub fn get(&self, name: &str) -> Option<&SubIndex> {
        self.subs.get(name)
    }

    /// The opened sub-indexes, by name.
    pub fn sub_indexes(&self) -> impl Iterator<Item = &SubIndex> {
        self.subs.values()
    }

    /// The registry document as read.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// kmindex-server's `/kmindex/infos` document: `index.json` without its `path`.
    pub fn infos(&self) -> Json {
        let mut doc = self.registry.document.clone();
        if let Json::Object(members) = &mut doc {
            members.remove("path");
        }
        doc
    }
}
