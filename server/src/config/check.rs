//! Checking a configuration: its databases (each provider and MetaDB read by its kind, option
//! defaults, presets, links) and its plugins, paths resolved against the file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::api::Presets;
use app::model::options::OptionValue;
use serde::Deserialize;
use serde_json::Value as Json;

use super::*;
use crate::metadb::MetaDbConfig;
use crate::plugin::{Grants, PluginSpec};
use crate::provider::ProviderConfig;
use crate::registry::{self, Params};

/// How an option starts for a database: its value and whether users see it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionDefault {
    pub value: Option<OptionValue>,
    pub hide: bool,
}

/// One database, checked.
#[derive(Debug, Clone)]
pub struct DatabaseSpec {
    pub name: String,
    pub provider: Arc<dyn ProviderConfig>,
    pub metadb: Arc<dyn MetaDbConfig>,
    pub defaults: BTreeMap<String, OptionDefault>,
    /// The figure presets file, read.
    pub presets: Option<Presets>,
    /// Column → link template (see [`MetadataConfig::links`]).
    pub links: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullDefault {
    #[serde(default)]
    value: Option<OptionValue>,
    #[serde(default)]
    hide: bool,
}

impl Config {
    /// Checks every database's provider, MetaDB, defaults and presets, resolving paths against
    /// `base` (the configuration's folder).
    pub fn databases(&self, base: &Path) -> Result<Vec<DatabaseSpec>, Invalid> {
        if let Some(Auth::Keyring(_)) = &self.auth {
            return Err(
                "auth: keyring user names are not supported; give `user = \"password\"` \
                        pairs"
                    .into(),
            );
        }
        for name in &self.default.database {
            if !self.databases.contains_key(name) {
                return Err(Invalid(format!(
                    "default.database: no database '{name}' (known: {})",
                    self.known()
                )));
            }
        }
        if self.engine.concurrency == 0 {
            return Err("engine.concurrency: must be at least 1".into());
        }
        let plugins: Vec<String> = self.plugins(base)?.into_iter().map(|p| p.name).collect();
        self.databases
            .iter()
            .map(|(name, db)| database(name, db, base, &plugins))
            .collect()
    }

    /// The WebAssembly plugins (entries with `wasm`), paths resolved against `base`.
    pub fn plugins(&self, base: &Path) -> Result<Vec<PluginSpec>, Invalid> {
        self.plugins
            .iter()
            .filter_map(|(name, plugin)| {
                let mut grants = plugin.as_object()?.clone();
                let wasm = grants.remove("wasm")?;
                let params = grants
                    .remove("params")
                    .unwrap_or(Json::Object(Default::default()));
                let place = format!("plugins.{name}");
                Some((|| {
                    let wasm: PathBuf = part(&wasm, &format!("{place}.wasm"))?;
                    let mut grants: Grants = part(&Json::Object(grants), &place)?;
                    grants.dirs = grants.dirs.iter().map(|d| base.join(d)).collect();
                    if registry::names(crate::provider::KINDS).any(|n| n == name) {
                        return Err(Invalid(format!(
                            "{place}: '{name}' is a built-in provider's name"
                        )));
                    }
                    if registry::names(crate::metadb::KINDS).any(|n| n == name) {
                        return Err(Invalid(format!(
                            "{place}: '{name}' is a built-in MetaDB's name"
                        )));
                    }
                    Ok(PluginSpec {
                        name: name.clone(),
                        wasm: base.join(wasm),
                        grants,
                        params,
                    })
                })())
            })
            .collect()
    }

    fn known(&self) -> String {
        self.databases
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks one database's sections in the file's order, each error with its place.
fn database(
    name: &str,
    db: &DatabaseConfig,
    base: &Path,
    plugins: &[String],
) -> Result<DatabaseSpec, Invalid> {
    let place = format!("databases.{name}");
    let resolve = |p: &Path| base.join(p);
    let params = |kind, value, place| Params {
        kind,
        value,
        base,
        place,
    };
    let at = format!("{place}.params");
    let provider =
        crate::provider::read(&params(&db.kind, &db.params, &at), plugins).ok_or_else(|| {
            Invalid(format!(
                "{place}.type: unknown provider type '{}'; known: {}",
                db.kind,
                registry::known(crate::provider::KINDS, plugins)
            ))
        })??;
    let at = format!("{place}.metadata.params");
    let metadata = params(&db.metadata.kind, &db.metadata.params, &at);
    let metadb = crate::metadb::read(&metadata, plugins).ok_or_else(|| {
        Invalid(format!(
            "{place}.metadata.type: unknown MetaDB type '{}'; known: {}",
            db.metadata.kind,
            registry::known(crate::metadb::KINDS, plugins)
        ))
    })??;
    let defaults = db
        .defaults
        .iter()
        .map(|(option, value)| {
            let at = format!("{place}.defaults.{option}");
            let default = if value.is_object() {
                let full: FullDefault = part(value, &at)?;
                OptionDefault {
                    value: full.value,
                    hide: full.hide,
                }
            } else {
                OptionDefault {
                    value: Some(part(value, &at)?),
                    hide: false,
                }
            };
            Ok((option.clone(), default))
        })
        .collect::<Result<_, Invalid>>()?;
    let presets = match &db.presets {
        None => None,
        Some(path) => {
            let path = resolve(path);
            let at = format!("{place}.presets ({})", path.display());
            let format = Format::of(&path).map_err(|e| Invalid(format!("{at}: {e}")))?;
            let text = std::fs::read_to_string(&path).map_err(|e| Invalid(format!("{at}: {e}")))?;
            let presets: Json = parse(&text, format).map_err(|e| Invalid(format!("{at}: {e}")))?;
            Some(part(&presets, &at)?)
        }
    };
    for (column, template) in &db.metadata.links {
        let safe = template.starts_with("https://") || template.starts_with("http://");
        if !safe || !template.contains("{}") {
            return Err(Invalid(format!(
                "{place}.metadata.links.{column}: '{template}' is not an http(s) URL with {{}} \
                 where the value goes"
            )));
        }
    }
    Ok(DatabaseSpec {
        name: name.to_owned(),
        provider,
        metadb,
        defaults,
        presets,
        links: db.metadata.links.clone(),
    })
}
