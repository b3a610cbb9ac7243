//! The instance's configuration: TOML, YAML or JSON (by extension), in kmviz 0.8's shape.
//!
//! Every section kmviz 0.8 knows is accepted; those this server has no use for (`cache`,
//! `html`, `notif`, `plugins`, `assets`, `preset`) are reported by [`Config::warnings`]. Any
//! other key is an error naming the key and where it is. Provider and MetaDB `params` are
//! checked against their `type`. Relative paths are relative to the configuration file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::api::Presets;
use app::model::options::OptionValue;
use app::model::query::InputLimits;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::metadb::MetaDbConfig;
use crate::plugin::{Grants, PluginSpec};
use crate::provider::ProviderConfig;
use crate::registry::{self, Params};

/// A configuration that cannot be used, with the file and the place in it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

/// What is wrong in a configuration, and where (e.g. `databases.A.params.idx: missing`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Invalid {
        Invalid(message.to_owned())
    }
}

/// The configuration file, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub databases: BTreeMap<String, DatabaseConfig>,
    #[serde(default)]
    pub input: InputLimits,
    #[serde(default, alias = "defaults")]
    pub default: Preselection,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub sessions: SessionsConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub ui: UiConfig,
    // kmviz 0.8 sections accepted and not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notif: Option<Json>,
    /// WebAssembly plugins (`wasm` and grants); kmviz 0.8's Python plugins are ignored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Json>,
}

/// One database as written: a provider (`type`, `params`, option `defaults`, figure
/// `presets`) and its `metadata`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub params: Json,
    /// Per option: `{value, hide}` or a bare value.
    #[serde(default)]
    pub defaults: BTreeMap<String, Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<PathBuf>,
    pub metadata: MetadataConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub params: Json,
    /// Per column, a link for its cells: an `http(s)` URL where `{}` stands for the value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
}

/// The databases selected when the app opens (kmviz 0.8's `default`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Preselection {
    #[serde(default, deserialize_with = "one_or_many")]
    pub database: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    #[serde(default)]
    pub hide: bool,
}

impl From<Preselection> for app::api::Preselection {
    fn from(chosen: Preselection) -> app::api::Preselection {
        app::api::Preselection {
            database: chosen.database,
            configuration: chosen.configuration,
            hide: chosen.hide,
        }
    }
}

/// kmviz 0.8's `api` section; `limits` apply to requests in kmviz 0.8's API form.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub enabled: bool,
    pub with_query: bool,
    pub with_download: bool,
    pub readme_template: Option<String>,
    pub route: String,
    pub query_route: String,
    pub download_route: String,
    pub limits: Option<InputLimits>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_size: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            with_query: true,
            with_download: true,
            readme_template: None,
            route: "/api".into(),
            query_route: "/query".into(),
            download_route: "/download".into(),
            limits: None,
            max_body_size: 64 << 20,
        }
    }
}

/// HTTP basic credentials: `user = "password"` pairs (kmviz 0.8's keyring form, a list of
/// user names, is refused when checked).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Auth {
    Users(BTreeMap<String, String>),
    Keyring(Vec<String>),
}

/// How queries run.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// (query, database) pairs running at once, over all sessions.
    pub concurrency: usize,
    /// Seconds one (query, database) pair may take.
    pub timeout: u64,
    /// Hits kept per (query, database); the rest are counted as not shown.
    pub max_results: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 8,
            timeout: 120,
            max_results: 10_000,
        }
    }
}

/// Where sessions are kept, and for how long.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// Folder of the session store (default: `$XDG_DATA_HOME/kmviz` or
    /// `~/.local/share/kmviz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Days a session is kept after it was created.
    pub retention_days: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            data_dir: None,
            retention_days: 30,
        }
    }
}

/// How the server runs for its operators.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `GET /metrics` in Prometheus' text format (behind the authentication when there is one).
    pub metrics: bool,
    /// Seconds running sessions may take to finish once the server is told to stop (SIGTERM,
    /// ctrl-c); the rest are interrupted.
    pub shutdown_grace: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            metrics: true,
            shutdown_grace: 30,
        }
    }
}

/// kmviz 0.8's `ui` section: which tabs the app shows, and its other keys (kept for the app).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    pub with_map_tab: bool,
    pub with_help_tab: bool,
    pub with_plot_tab: bool,
    pub with_sequence_tab: bool,
    pub with_index_tab: bool,
    pub default_tab: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_notif_msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress_requests: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_filter_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_filter_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot_filter_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_height: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_tooltips: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_tooltips_delay: Option<(u64, u64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_tooltips_browser: Option<bool>,
}

impl UiConfig {
    /// What the app is told of this section: the keys it uses.
    pub fn tabs(&self) -> app::api::Tabs {
        app::api::Tabs {
            with_index_tab: self.with_index_tab,
            with_plot_tab: self.with_plot_tab,
            with_map_tab: self.with_map_tab,
            with_sequence_tab: self.with_sequence_tab,
            with_help_tab: self.with_help_tab,
            default_tab: self.default_tab.clone(),
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            with_map_tab: true,
            with_help_tab: true,
            with_plot_tab: true,
            with_sequence_tab: true,
            with_index_tab: true,
            default_tab: String::new(),
            crs: None,
            ui_notif_msg: None,
            compress_requests: None,
            table_filter_message: None,
            map_filter_message: None,
            plot_filter_message: None,
            plot_types: None,
            table_height: None,
            table_tooltips: None,
            table_tooltips_delay: None,
            table_tooltips_browser: None,
        }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

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

/// The formats a configuration may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> Result<Format, Invalid> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Ok(Format::Toml),
            Some("yaml" | "yml") => Ok(Format::Yaml),
            Some("json") => Ok(Format::Json),
            _ => Err("the file name must end in .toml, .yaml, .yml or .json".into()),
        }
    }
}

/// Parses `text` in `format` into `T`; errors name the key's path and, when the parser knows
/// it, the line.
pub fn parse<T: DeserializeOwned>(text: &str, format: Format) -> Result<T, Invalid> {
    fn located<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> Invalid {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner.trim_end();
        Invalid(if path == "." {
            inner.to_owned()
        } else {
            format!("{path}: {inner}")
        })
    }
    match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(located)
        }
        Format::Toml => {
            let de = toml::Deserializer::parse(text).map_err(|e| Invalid(e.to_string()))?;
            serde_path_to_error::deserialize(de).map_err(located)
        }
        Format::Yaml => {
            // The YAML parser names the place itself.
            serde_yaml_ng::from_str(text).map_err(|e| Invalid(e.to_string()))
        }
    }
}

/// Reads `part` (a value found at `place`) as `T`.
pub(crate) fn part<T: DeserializeOwned>(value: &Json, place: &str) -> Result<T, Invalid> {
    let value = if value.is_null() {
        Json::Object(Default::default())
    } else {
        value.clone()
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let where_ = if path == "." {
            place.to_owned()
        } else {
            format!("{place}.{path}")
        };
        Invalid(format!("{where_}: {}", e.into_inner()))
    })
}

impl Config {
    /// Reads and parses the file at `path` (not opening anything it names).
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let fail = |Invalid(message)| ConfigError {
            file: path.display().to_string(),
            message,
        };
        let format = Format::of(path).map_err(fail)?;
        let text = std::fs::read_to_string(path).map_err(|e| fail(Invalid(e.to_string())))?;
        parse(&text, format).map_err(fail)
    }

    /// What the configuration sets that this server ignores.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = [
            ("cache", self.cache.is_some()),
            ("html", self.html.is_some()),
            ("notif", self.notif.is_some()),
            ("assets", self.assets.is_some()),
            ("preset", self.preset.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| format!("'{key}' (a kmviz 0.8 setting) is ignored by this server"))
        .collect();
        for (name, plugin) in &self.plugins {
            if plugin.get("wasm").is_none() {
                warnings.push(format!(
                    "plugins.{name}: a kmviz 0.8 (Python) plugin is ignored; plugins here are \
                     WebAssembly components (give `wasm`)"
                ));
            }
        }
        let api = &self.api;
        if !api.enabled || !api.with_query || !api.with_download {
            warnings.push(
                "api.enabled, api.with_query and api.with_download are ignored: the app itself \
                 uses the API"
                    .into(),
            );
        }
        let defaults = ApiConfig::default();
        if (&api.route, &api.query_route, &api.download_route)
            != (
                &defaults.route,
                &defaults.query_route,
                &defaults.download_route,
            )
        {
            warnings.push(
                "api routes are fixed (/api/query, /api/sessions/...): api.route, \
                           api.query_route and api.download_route are ignored"
                    .into(),
            );
        }
        for (name, db) in &self.databases {
            if db.kind == "kmindex-cli" && db.params.get("executable").is_some_and(|e| !e.is_null())
            {
                warnings.push(format!(
                    "databases.{name}.params.executable is ignored: kmviz reads kmindex \
                     indexes itself"
                ));
            }
        }
        warnings
    }

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
            let known = registry::names(crate::provider::KINDS)
                .map(str::to_owned)
                .chain(plugins.iter().map(|p| format!("{p} (plugin)")));
            Invalid(format!(
                "{place}.type: unknown provider type '{}'; known: {}",
                db.kind,
                known.collect::<Vec<_>>().join(", ")
            ))
        })??;
    let at = format!("{place}.metadata.params");
    let metadata = params(&db.metadata.kind, &db.metadata.params, &at);
    let metadb = crate::metadb::read(&metadata, plugins).ok_or_else(|| {
        let known = registry::names(crate::metadb::KINDS)
            .map(str::to_owned)
            .chain(plugins.iter().map(|p| format!("{p} (plugin)")));
        Invalid(format!(
            "{place}.metadata.type: unknown MetaDB type '{}'; known: {}",
            db.metadata.kind,
            known.collect::<Vec<_>>().join(", ")
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

/// A configuration to start from, in `format`: every section, commented in TOML.
pub fn template(format: Format) -> String {
    const TOML: &str = include_str!("config/template.toml");
    match format {
        Format::Toml => TOML.to_owned(),
        Format::Yaml | Format::Json => {
            let config: Config = parse(TOML, Format::Toml).expect("the template parses");
            if format == Format::Json {
                serde_json::to_string_pretty(&config).expect("serialisable") + "\n"
            } else {
                serde_yaml_ng::to_string(&config).expect("serialisable")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_in_every_format() {
        for format in [Format::Toml, Format::Yaml, Format::Json] {
            let config: Config = parse(&template(format), format).unwrap();
            assert!(config.databases.contains_key("Ocean"), "{format:?}");
            config.databases(Path::new("/srv")).unwrap();
        }
    }

    #[test]
    fn unknown_keys_are_named_with_their_place() {
        let text = "[databases.A]\ntype = \"kmindex\"\n[databases.A.params]\nindex_path = \"i\"\n\
                    [databases.A.metadata]\ntype = \"tsv\"\n[databases.A.metadata.params]\n\
                    path = \"m.tsv\"\nidx = \"ID\"\ncolour = \"red\"\n";
        let config: Config = parse(text, Format::Toml).unwrap();
        let error = config.databases(Path::new(".")).unwrap_err().0;
        assert!(
            error.starts_with("databases.A.metadata.params.colour: unknown field `colour`"),
            "{error}"
        );
        let error = parse::<Config>("databases: {}\ninptu: {}\n", Format::Yaml)
            .unwrap_err()
            .0;
        assert!(error.contains("unknown field `inptu`"), "{error}");
        assert!(error.contains("line 2"), "{error}");
        let error = parse::<Config>("[input]\nmax_qeury = 3\n", Format::Toml)
            .unwrap_err()
            .0;
        assert!(error.starts_with("input.max_qeury: "), "{error}");
        assert!(error.contains("max_qeury"), "{error}");
    }
}
