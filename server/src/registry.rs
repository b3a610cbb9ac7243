//! How a database's configured `type` becomes its provider or MetaDB. Each kind's own file
//! gives a [`Kind`]: the names it answers to and how it reads a database's `params` (when the
//! configuration is checked) into what opens it (when the instance starts, with a
//! [`Context`]). The kinds are listed in [`crate::provider::KINDS`] and
//! [`crate::metadb::KINDS`]; a plugin adds its own under its name. The engine sees only the
//! [`Provider`](crate::provider::Provider) and [`MetaDb`](crate::metadb::MetaDb) this gives.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::config::Invalid;
use crate::plugin::Plugins;
use crate::provider::kmindex::LocalIndexes;

/// A kind of provider (`C` = `dyn ProviderConfig`) or of MetaDB (`dyn MetaDbConfig`).
#[derive(Debug)]
pub struct Kind<C: ?Sized> {
    /// The configuration `type` names it takes (kmviz 0.8's, and aliases).
    pub names: &'static [&'static str],
    /// Reads a database's `params`.
    pub read: fn(&Params) -> Result<Arc<C>, Invalid>,
}

/// The kind of `kinds` named `name`.
pub fn find<'k, C: ?Sized>(kinds: &'k [Kind<C>], name: &str) -> Option<&'k Kind<C>> {
    kinds.iter().find(|kind| kind.names.contains(&name))
}

/// Every name `kinds` take.
pub fn names<C: ?Sized>(kinds: &[Kind<C>]) -> impl Iterator<Item = &'static str> + '_ {
    kinds.iter().flat_map(|kind| kind.names.iter().copied())
}

/// Reads what `type = params.kind` names: one of `kinds`, or the plugin of that name among
/// `plugins` (configured by `plugin`, from its name and the params); `None` when neither.
pub fn read<C: ?Sized>(
    kinds: &[Kind<C>],
    params: &Params,
    plugins: &[String],
    plugin: fn(String, Json) -> Arc<C>,
) -> Option<Result<Arc<C>, Invalid>> {
    if let Some(kind) = find(kinds, params.kind) {
        return Some((kind.read)(params));
    }
    let name = plugins.iter().find(|p| *p == params.kind)?;
    Some(Ok(plugin(name.clone(), params.value.clone())))
}

/// The type names a configuration may give: `kinds`', then `plugins`' (marked as plugins).
pub fn known<C: ?Sized>(kinds: &[Kind<C>], plugins: &[String]) -> String {
    names(kinds)
        .map(str::to_owned)
        .chain(plugins.iter().map(|p| format!("{p} (plugin)")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A database's `params` for one kind, where they are in the configuration.
#[derive(Debug)]
pub struct Params<'a> {
    /// The `type` as written.
    pub kind: &'a str,
    pub value: &'a Json,
    /// The configuration's folder: relative paths are relative to it.
    pub base: &'a Path,
    /// Where they are, e.g. `databases.tara.params`.
    pub place: &'a str,
}

impl Params<'_> {
    /// The params as the kind's `T`; an error names the key and its place.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, Invalid> {
        crate::config::part(self.value, self.place)
    }

    /// `path` resolved against the configuration's folder.
    pub fn path(&self, path: &Path) -> PathBuf {
        self.base.join(path)
    }
}

/// What opening a provider or a MetaDB may use.
#[derive(Debug)]
pub struct Context<'a> {
    pub plugins: &'a Plugins,
    /// The local indexes opened so far: databases on one index share it.
    pub local: &'a LocalIndexes,
    /// How long a provider may take to answer.
    pub timeout: Duration,
}
