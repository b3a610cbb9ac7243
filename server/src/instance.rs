//! A kmviz instance put together: databases opened, session store opened (sessions left running
//! by a previous process marked interrupted, old ones purged), jobs, and the API's router.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;

use crate::api::rate::RateLimits;
use crate::api::{self, AppState, Settings};
use crate::config::{
    Auth, Config, DatabaseSpec, EngineConfig, Invalid, RateLimitConfig, ServerConfig,
};
use crate::engine::Engine;
use crate::jobs::Jobs;
use crate::notify::Notifier;
use crate::plugin::{PluginSpec, Plugins};
use crate::session::{Opened, Place, Queue, SessionStore};

/// Everything needed to start an instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub databases: Vec<DatabaseSpec>,
    pub engine: EngineConfig,
    pub settings: Settings,
    /// Where the session store lives (unless `store_url` names a shared one), and the compiled
    /// plugins' cache.
    pub data_dir: PathBuf,
    /// A PostgreSQL store the instance's replicas share (`sessions.url`), and how long their
    /// claims hold.
    pub store_url: Option<String>,
    pub lease: Duration,
    pub retention_days: u64,
    /// The built browser app (see [`crate::web`]).
    pub site: PathBuf,
    /// HTTP basic credentials (user → password); without, everything is open (and API tokens
    /// only say who calls).
    pub users: Option<BTreeMap<String, String>>,
    pub rate_limits: RateLimitConfig,
    /// `[notif]`'s mails, checked.
    pub notifier: Option<Arc<Notifier>>,
    pub plugins: Vec<PluginSpec>,
    pub server: ServerConfig,
}

impl Instance {
    /// The instance `config` describes; `base` is the configuration file's folder.
    pub fn from_config(config: &Config, base: &Path) -> Result<Instance, Invalid> {
        Ok(Instance {
            databases: config.databases(base)?,
            plugins: config.plugins(base)?,
            engine: config.engine.clone(),
            settings: Settings {
                input: config.input,
                api_limits: config.api.limits.unwrap_or(config.input),
                default: config.default.clone().into(),
                ui: config.ui.tabs(),
                example: match &config.ui.example {
                    Some(path) => Some(read_example(&base.join(path), &config.input)?),
                    None => None,
                },
                max_body_size: config.api.max_body_size,
                shared_links: config.sessions.shared_links,
                notify: config.notif.as_ref().map(|_| app::api::Notify {
                    message: config.ui.ui_notif_msg.clone(),
                }),
            },
            rate_limits: config.rate_limits,
            notifier: match &config.notif {
                Some(notif) => Some(Arc::new(Notifier::open(notif)?)),
                None => None,
            },
            data_dir: config
                .sessions
                .data_dir
                .as_ref()
                .map_or_else(default_data_dir, |d| base.join(d)),
            store_url: match &config.sessions.url {
                Some(url) => {
                    url.parse::<tokio_postgres::Config>()
                        .map_err(|e| Invalid(format!("sessions.url: {e}")))?;
                    Some(url.clone())
                }
                None => None,
            },
            lease: Duration::from_secs(config.sessions.lease.max(1)),
            retention_days: config.sessions.retention_days,
            site: crate::web::default_site(),
            server: config.server.clone(),
            users: match &config.auth {
                Some(Auth::Users(users)) => Some(users.clone()),
                _ => None,
            },
        })
    }

    /// The embedded demo's instance: its survey as database `survey`, sessions beside it.
    pub fn demo(demo: &crate::demo::Demo, data_dir: &Path) -> Instance {
        let survey = DatabaseSpec {
            name: crate::demo::SUB_INDEX.into(),
            provider: Arc::new(crate::provider::kmindex::Configured {
                index_path: demo.index.clone(),
            }),
            metadb: Arc::new(crate::metadb::tsv::Configured {
                path: demo.metadata.clone(),
                idx: "ID".into(),
                separator: None,
                geodata: Some(app::model::session::Geodata {
                    latitude: "Lat".into(),
                    longitude: "Long".into(),
                }),
            }),
            defaults: [(
                "z".to_owned(),
                crate::config::OptionDefault {
                    value: Some(app::model::options::OptionValue::Number(3.0)),
                    hide: false,
                },
            )]
            .into(),
            presets: Some(crate::demo::presets()),
            links: [(
                "Biome".to_owned(),
                "https://en.wikipedia.org/w/index.php?search={}+biome".to_owned(),
            )]
            .into(),
        };
        let mut instance = Instance::from_config(&Config::default(), data_dir)
            .expect("the empty configuration is valid");
        instance.databases = vec![survey];
        instance.settings.default.database = vec![crate::demo::SUB_INDEX.into()];
        instance.data_dir = data_dir.join("sessions");
        instance.settings.example = std::fs::read_to_string(&demo.queries).ok();
        // The demo's plugins (its home page and help, a tab), built with the app
        // (`cargo xtask web`); they need no grant.
        let built = std::fs::read_dir(instance.site.join("plugins"))
            .into_iter()
            .flatten();
        let mut wasm: Vec<PathBuf> = built
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
            .collect();
        wasm.sort();
        for wasm in wasm {
            instance.plugins.push(crate::plugin::PluginSpec {
                name: wasm
                    .file_stem()
                    .expect("a file")
                    .to_string_lossy()
                    .into_owned(),
                wasm,
                grants: crate::plugin::Grants::default(),
                params: serde_json::json!({}),
            });
        }
        instance
    }

    /// Where the instance keeps its sessions.
    pub fn place(&self) -> Place {
        match &self.store_url {
            Some(url) => Place::Postgres {
                url: url.clone(),
                lease: self.lease,
            },
            None => Place::Folder(self.data_dir.clone()),
        }
    }

    /// Compiles (or reads from the cache beside the sessions) the configured plugins.
    pub fn load_plugins(&self) -> anyhow::Result<Plugins> {
        crate::plugin::load_all(&self.plugins, &self.data_dir.join("plugin-cache"))
    }
}

/// A kmviz server, opened from an [`Instance`] and ready to serve: the command line, the demo,
/// the tests and the benches all start one this way.
#[derive(Debug)]
pub struct App {
    router: Router,
    jobs: Arc<Jobs>,
    grace: Duration,
}

impl App {
    /// Opens everything `instance` names: plugins, databases, the session store (marking jobs
    /// a previous process left running as interrupted), the API and the web app.
    pub async fn open(instance: Instance) -> anyhow::Result<App> {
        let plugins = instance.load_plugins()?;
        let place = instance.place();
        let engine = Engine::open(instance.databases, instance.engine, &plugins).await?;
        let opened = place
            .open()
            .await
            .with_context(|| format!("cannot open the session store ({place})"))?;
        let (store, queue, interrupted): (Arc<dyn SessionStore>, Option<Arc<dyn Queue>>, _) =
            match opened {
                Opened::Local(store) => {
                    // One process: what a previous one left running will not end.
                    let interrupted = store.interrupt_running().await?;
                    if !interrupted.is_empty() {
                        let count = interrupted.len();
                        tracing::warn!("{count} sessions were running when the server stopped");
                    }
                    (Arc::new(store), None, interrupted)
                }
                // Replicas: pairs left running are claimed again once their lease expires.
                Opened::Shared(store) => {
                    let store = Arc::new(store);
                    (store.clone(), Some(store), Vec::new())
                }
            };
        let jobs = Jobs::new(
            Arc::new(engine),
            Arc::clone(&store),
            queue,
            instance.notifier,
        );
        jobs.mail_interrupted(interrupted);
        jobs.keep_for(Duration::from_secs(instance.retention_days * 86_400));
        crate::metrics::install();
        let rates = RateLimits::new(instance.rate_limits);
        let state = AppState {
            jobs: Arc::clone(&jobs),
            settings: Arc::new(instance.settings),
            pages: Arc::new(crate::plugin::page::Pages::open(&plugins).await),
            rates: Arc::new(rates),
        };
        let mut router = api::router(state.clone())
            .merge(api::mcp::router(state.clone()))
            .merge(Router::from(
                api::ops::routes(instance.server.metrics).with_state(state.clone()),
            ));
        match crate::web::router(&instance.site, state) {
            Some(web) => router = router.merge(web),
            None => tracing::warn!(
                "no web app in {}: build it with `cargo xtask web` (the API is served)",
                instance.site.display()
            ),
        }
        router = router.route_layer(axum::middleware::from_fn(crate::metrics::remember_route));
        let gate = api::auth::Gate {
            users: instance.users,
            tokens: Some(store),
        };
        router = api::auth::authenticate(router, gate);
        // Open to probes (a container's health check has no password); it tells nothing.
        Ok(App {
            router: router.merge(Router::from(api::ops::health_routes())),
            jobs,
            grace: Duration::from_secs(instance.server.shutdown_grace),
        })
    }

    /// Adds kmindex-server's API over `index` (the demo serves its survey so).
    pub fn with_kmindex(mut self, index: Arc<kmindex::Index>) -> App {
        let limits = api::kmindex::Limits::default();
        self.router = self.router.merge(api::kmindex::router(index, limits));
        self
    }

    pub fn jobs(&self) -> &Arc<Jobs> {
        &self.jobs
    }

    /// Serves on `listener` until `stop` resolves ([`crate::stop_signal`] for a process); then
    /// stops accepting and winds down: running pairs finish within the grace period, the others
    /// are marked interrupted.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        stop: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let jobs = self.jobs;
        crate::serve(listener, self.router, stop, jobs.wind_down(self.grace)).await
    }
}

/// The user's data folder: `$XDG_DATA_HOME`, else `~/.local/share`.
pub fn user_data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
}

/// The session store's folder when none is configured: `kmviz` in the user's data folder.
/// The example queries in `path`: FASTA within the instance's input limits.
fn read_example(path: &Path, limits: &app::model::query::InputLimits) -> Result<String, Invalid> {
    let invalid =
        |e: &dyn std::fmt::Display| Invalid(format!("ui.example {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| invalid(&e))?;
    app::model::query::parse_queries(text.as_bytes(), limits).map_err(|e| invalid(&e))?;
    Ok(text)
}

fn default_data_dir() -> PathBuf {
    user_data_dir().unwrap_or_else(|| ".".into()).join("kmviz")
}
