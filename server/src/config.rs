//! The instance's configuration: TOML, YAML or JSON (by extension), in kmviz 0.8's shape.
//!
//! Every section kmviz 0.8 knows is accepted; those this server has no use for (`cache`,
//! `html`, `plugins`, `assets`, `preset`) are reported by [`Config::warnings`]. Any
//! other key is an error naming the key and where it is. Provider and MetaDB `params` are
//! checked against their `type`. Relative paths are relative to the configuration file's folder.
//!
//! Here: the file's shape, as written. Beside it: `format` (TOML, YAML, JSON; errors with their
//! place; the template), `check` (databases and plugins checked into what the instance opens),
//! `warnings` (what is ignored).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use app::model::query::InputLimits;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

mod check;
mod format;
mod warnings;

pub use check::{DatabaseSpec, OptionDefault};
pub(crate) use format::part;
pub use format::{Format, parse, template};

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
    pub rate_limits: RateLimitConfig,
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
    /// E-mail when a job ends, to the address its submission gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notif: Option<NotifConfig>,
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

/// `[notif]` (kmviz 0.8's shape): a mail to the address a submission gives when its job ends
/// (done, failed or interrupted; not when cancelled), through an SMTP server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifConfig {
    /// `smtp` (kmviz 0.8's `sendgrid` is not supported).
    #[serde(rename = "type")]
    pub kind: String,
    /// Templates of the mail's subject and body, when every pair was done (`subject`,
    /// `success`) or not (`subject_failure`, `failure`): `{SESSION}`, `{STATUS}`, `{LINK}`,
    /// `{SUMMARY}`, `{REASON}` and the keys of `custom` are replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    /// The instance's public address (`https://kmviz.example.org`): `{LINK}` is the session's
    /// page there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub params: SmtpParams,
}

/// How mails are sent.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpParams {
    /// `host` or `host:port`.
    pub server: String,
    /// The `From` address.
    pub sender: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `tls`: TLS from the start, port 465 by default (kmviz 0.8's); `starttls`: TLS after
    /// `STARTTLS`, port 587; `none`: plain SMTP, port 25 (a relay on the same host).
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Seconds to wait on the SMTP server.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: u64,
}

fn default_smtp_timeout() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    #[default]
    Tls,
    Starttls,
    None,
}

/// `[rate_limits]`: each client's quotas per minute (none: no limit); see
/// [`crate::api::rate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests to the API (`/api`) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<NonZeroU32>,
    /// Query letters submitted per minute, over all of a client's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letters_per_minute: Option<NonZeroU32>,
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
    /// A PostgreSQL database (`postgres://user:password@host:port/database`) instead of the
    /// SQLite file: replicas that share it share sessions and jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seconds a replica's claim on a pair holds without a renewal (PostgreSQL): a replica
    /// that dies leaves its pairs to the others after this long.
    pub lease: u64,
    /// Days a session is kept after it was created.
    pub retention_days: u64,
    /// Anyone with a session's link may read it; `false`: only its owner (the user or token
    /// that made it), when it has one.
    pub shared_links: bool,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            data_dir: None,
            url: None,
            lease: 30,
            retention_days: 30,
            shared_links: true,
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
    /// A FASTA file of example queries (relative to the configuration's folder), offered by
    /// the app's "Try the example" button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<PathBuf>,
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
            example: None,
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
