//! Plugins: WebAssembly components (WASI 0.2) implementing the WIT package in `plugins-wit/`,
//! run by wasmtime in a sandbox. Every call gets a fresh instance (from a pre-instantiated
//! template) that sees only what the operator granted the plugin — outgoing HTTP to named hosts,
//! read-only folders, environment variables — under a memory cap and a time limit; a trap, a
//! timeout or an out-of-memory fails that call only, with a message naming the plugin and why.
//! Compiled components are cached on disk, keyed by the file's content and wasmtime's build.
//!
//! A plugin exports any of four interfaces: [`provider`] makes one a
//! [`crate::provider::Provider`], [`metadb`] a [`crate::metadb::MetaDb`], [`page`] renders its
//! analysis tab and its instance pages (sanitised HTML).

pub mod metadb;
pub mod page;
pub mod provider;
pub mod template;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, Trap};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// The WIT package version this host loads.
pub const WIT_VERSION: &str = "0.1.0";
/// How often the engine's epoch advances: the granularity of time limits.
const EPOCH: Duration = Duration::from_millis(10);

/// One module per world: a component exports any subset of the interfaces.
mod bindings {
    pub mod provider {
        wasmtime::component::bindgen!({
            path: "../plugins-wit",
            world: "provider-plugin",
            exports: { default: async },
        });
    }
    pub mod metadb {
        wasmtime::component::bindgen!({
            path: "../plugins-wit",
            world: "metadb-plugin",
            exports: { default: async },
        });
    }
    pub mod tab {
        wasmtime::component::bindgen!({
            path: "../plugins-wit",
            world: "tab-plugin",
            exports: { default: async },
        });
    }
    pub mod instance {
        wasmtime::component::bindgen!({
            path: "../plugins-wit",
            world: "instance-plugin",
            exports: { default: async },
        });
    }
}

pub use bindings::instance::exports::kmviz::plugin::instance as wit_instance;
pub use bindings::metadb::exports::kmviz::plugin::metadb as wit_metadb;
pub use bindings::provider::exports::kmviz::plugin::provider as wit_provider;
pub use bindings::provider::kmviz::plugin::types as wit_types;
pub use bindings::tab::exports::kmviz::plugin::tab as wit_tab;

/// A world's pre-instantiated template: makes the fresh instance each call runs in.
trait World: Send + Sync + Sized {
    /// The interface the world exports (`kmviz:plugin/<INTERFACE>@…`).
    const INTERFACE: &'static str;
    type Instance: Send + Sync;
    fn new(pre: InstancePre<State>) -> wasmtime::Result<Self>;
    fn instantiate<'a>(&'a self, store: &'a mut Store<State>) -> Call<'a, Self::Instance>;
}

macro_rules! world {
    ($interface:literal, $pre:ty => $instance:ty) => {
        impl World for $pre {
            const INTERFACE: &'static str = $interface;
            type Instance = $instance;
            fn new(pre: InstancePre<State>) -> wasmtime::Result<Self> {
                <$pre>::new(pre)
            }
            fn instantiate<'a>(&'a self, store: &'a mut Store<State>) -> Call<'a, $instance> {
                Box::pin(self.instantiate_async(store))
            }
        }
    };
}
world!("provider", bindings::provider::ProviderPluginPre<State> => bindings::provider::ProviderPlugin);
world!("metadb", bindings::metadb::MetadbPluginPre<State> => bindings::metadb::MetadbPlugin);
world!("tab", bindings::tab::TabPluginPre<State> => bindings::tab::TabPlugin);
world!("instance", bindings::instance::InstancePluginPre<State> => bindings::instance::InstancePlugin);

/// World `W`'s template when the component exports its interface.
fn prepare<W: World>(pre: &InstancePre<State>, exports: &[String]) -> Result<Option<W>, String> {
    let prefix = format!("kmviz:plugin/{}@", W::INTERFACE);
    if !exports.iter().any(|e| e.starts_with(&prefix)) {
        return Ok(None);
    }
    W::new(pre.clone())
        .map(Some)
        .map_err(|e| format!("its {} does not match the WIT: {e:#}", W::INTERFACE))
}

/// The worlds a plugin implements, ready to instantiate.
struct Worlds {
    provider: Option<bindings::provider::ProviderPluginPre<State>>,
    metadb: Option<bindings::metadb::MetadbPluginPre<State>>,
    tab: Option<bindings::tab::TabPluginPre<State>>,
    instance: Option<bindings::instance::InstancePluginPre<State>>,
}

/// The loaded plugins, by name.
pub type Plugins = BTreeMap<String, Arc<Plugin>>;

/// Loads every plugin of `specs` on a new host caching compiled code in `cache_dir`.
pub fn load_all(specs: &[PluginSpec], cache_dir: &Path) -> anyhow::Result<Plugins> {
    if specs.is_empty() {
        return Ok(Plugins::new());
    }
    let host = Host::new(cache_dir)?;
    specs
        .iter()
        .map(|spec| Ok((spec.name.clone(), Arc::new(host.load(spec)?))))
        .collect()
}

/// What the operator lets a plugin do (the configuration's `plugins.<name>`, `wasm` aside).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Hosts (`host` or `host:port`) the plugin may send HTTP requests to.
    #[serde(default)]
    pub allow_http: Vec<String>,
    /// Folders the plugin may read, seen under the same paths.
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// Per call.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Calls at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl Default for Grants {
    /// Nothing granted, default limits.
    fn default() -> Grants {
        Grants {
            allow_http: Vec::new(),
            dirs: Vec::new(),
            env: BTreeMap::new(),
            memory_mb: default_memory_mb(),
            timeout_ms: default_timeout_ms(),
            concurrency: default_concurrency(),
        }
    }
}

fn default_memory_mb() -> u64 {
    64
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_concurrency() -> usize {
    2
}

/// A plugin as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    pub name: String,
    pub wasm: PathBuf,
    pub grants: Grants,
    /// What its tab and instance pages are given (the configuration's `params`).
    pub params: serde_json::Value,
}

/// Why a plugin call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("plugin '{plugin}': {message}")]
pub struct PluginError {
    pub plugin: String,
    pub message: String,
}

/// The wasmtime engine every plugin runs on, and the WASI it offers.
pub struct Host {
    engine: Engine,
    linker: Linker<State>,
    cache_dir: PathBuf,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A host caching compiled components in `cache_dir`.
    pub fn new(cache_dir: &Path) -> anyhow::Result<Host> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config)?;
        // The clock of every time limit; stops with the engine.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("kmviz-plugin-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH);
                }
            })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        Ok(Host {
            engine,
            linker,
            cache_dir: cache_dir.to_owned(),
        })
    }

    /// Compiles (or reads from the cache) and prepares plugin `spec`.
    pub fn load(&self, spec: &PluginSpec) -> Result<Plugin, PluginError> {
        let fail = |message: String| PluginError {
            plugin: spec.name.clone(),
            message,
        };
        let component = self
            .compile(&spec.wasm)
            .map_err(|e| fail(format!("{}: {e:#}", spec.wasm.display())))?;
        let exports = exported_interfaces(&self.engine, &component);
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| fail(format!("it needs what this host does not offer: {e:#}")))?;
        let worlds = Worlds {
            provider: prepare(&pre, &exports).map_err(fail)?,
            metadb: prepare(&pre, &exports).map_err(fail)?,
            tab: prepare(&pre, &exports).map_err(fail)?,
            instance: prepare(&pre, &exports).map_err(fail)?,
        };
        Ok(Plugin {
            spec: spec.clone(),
            engine: self.engine.clone(),
            exports,
            worlds,
            permits: Semaphore::new(spec.grants.concurrency.max(1)),
        })
    }

    fn compile(&self, wasm: &Path) -> anyhow::Result<Component> {
        let bytes = std::fs::read(wasm)?;
        anyhow::ensure!(
            bytes.starts_with(b"\0asm"),
            "not a WebAssembly file (it does not start with \\0asm)"
        );
        let mut key = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut key);
        let digest = sha1_smol::Sha1::from(&bytes).digest().to_string();
        let cached = self
            .cache_dir
            .join(format!("{digest}-{:016x}.cwasm", key.finish()));
        if cached.exists() {
            // SAFETY: the file was written by `serialize` below for this engine's settings
            // (its name holds them); deserialising a file from elsewhere would be unsafe.
            if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, &cached) } {
                return Ok(component);
            }
        }
        let component = Component::new(&self.engine, &bytes)?;
        if std::fs::create_dir_all(&self.cache_dir).is_ok() {
            let partial = cached.with_extension("partial");
            if std::fs::write(&partial, component.serialize()?).is_ok() {
                let _ = std::fs::rename(&partial, &cached);
            }
        }
        Ok(component)
    }
}

/// What a component exports and imports, by interface name.
#[derive(Debug)]
pub struct Inspection {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
}

/// Compiles `wasm` (caching in `cache_dir`) and lists its interfaces.
pub fn inspect(wasm: &Path, cache_dir: &Path) -> anyhow::Result<Inspection> {
    let host = Host::new(cache_dir)?;
    let component = host
        .compile(wasm)
        .map_err(|e| anyhow::anyhow!("{}: {e:#}", wasm.display()))?;
    let ty = component.component_type();
    Ok(Inspection {
        exports: exported_interfaces(&host.engine, &component),
        imports: ty
            .imports(&host.engine)
            .map(|(name, _)| name.to_owned())
            .collect(),
    })
}

/// The grant an imported interface needs, in words (`None`: harmless, always given).
pub fn capability(import: &str) -> Option<&'static str> {
    let interface = import.split('@').next().unwrap_or(import);
    match interface {
        "wasi:http/outgoing-handler" => Some("outgoing HTTP (allow_http)"),
        "wasi:filesystem/preopens" | "wasi:filesystem/types" => Some("files (dirs)"),
        "wasi:cli/environment" => Some("environment variables (env)"),
        "wasi:sockets/tcp" | "wasi:sockets/udp" | "wasi:sockets/ip-name-lookup" => {
            Some("sockets (never granted)")
        }
        _ => None,
    }
}

/// The names of the interfaces `component` exports (`kmviz:plugin/provider@0.1.0`, …).
pub fn exported_interfaces(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// A loaded plugin.
pub struct Plugin {
    spec: PluginSpec,
    engine: Engine,
    exports: Vec<String>,
    worlds: Worlds,
    permits: Semaphore,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("spec", &self.spec)
            .field("exports", &self.exports)
            .finish()
    }
}

/// A call's future, borrowing the store and the instance it runs in.
type Call<'a, R> =
    std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>>;

impl Plugin {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn grants(&self) -> &Grants {
        &self.spec.grants
    }

    /// The interfaces it exports.
    pub fn exports(&self) -> &[String] {
        &self.exports
    }

    pub fn is_provider(&self) -> bool {
        self.worlds.provider.is_some()
    }

    pub fn is_metadb(&self) -> bool {
        self.worlds.metadb.is_some()
    }

    pub fn is_tab(&self) -> bool {
        self.worlds.tab.is_some()
    }

    pub fn is_instance(&self) -> bool {
        self.worlds.instance.is_some()
    }

    /// Its configuration's `params` (for tabs and instance pages; databases have their own).
    pub fn params(&self) -> String {
        self.spec.params.to_string()
    }

    fn fail(&self, message: String) -> PluginError {
        PluginError {
            plugin: self.spec.name.clone(),
            message,
        }
    }

    /// A store holding only what the plugin was granted.
    fn store(&self) -> Result<Store<State>, PluginError> {
        let grants = &self.spec.grants;
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stderr();
        for (key, value) in &grants.env {
            wasi.env(key, value);
        }
        for dir in &grants.dirs {
            let guest = dir.to_string_lossy();
            wasi.preopened_dir(dir, guest, FsPerms::ReadOnly)
                .map_err(|e| self.fail(format!("granted folder {}: {e:#}", dir.display())))?;
        }
        let state = State {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: HttpGrant {
                hosts: grants.allow_http.clone(),
                denied: Arc::default(),
            },
            memory: MemoryCap {
                bytes: usize::try_from(grants.memory_mb.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
                exceeded: false,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        let ticks = grants.timeout_ms.div_ceil(EPOCH.as_millis() as u64).max(1);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        Ok(store)
    }

    async fn provider_call<T: Send>(
        &self,
        call: impl for<'a> FnOnce(
            &'a mut Store<State>,
            &'a bindings::provider::ProviderPlugin,
        ) -> Call<'a, Result<T, String>>,
    ) -> Result<Result<T, String>, PluginError> {
        self.call(self.worlds.provider.as_ref(), "provider", call)
            .await
    }

    async fn metadb_call<T: Send>(
        &self,
        call: impl for<'a> FnOnce(
            &'a mut Store<State>,
            &'a bindings::metadb::MetadbPlugin,
        ) -> Call<'a, Result<T, String>>,
    ) -> Result<Result<T, String>, PluginError> {
        self.call(self.worlds.metadb.as_ref(), "MetaDB", call).await
    }

    async fn tab_call<T: Send>(
        &self,
        call: impl for<'a> FnOnce(
            &'a mut Store<State>,
            &'a bindings::tab::TabPlugin,
        ) -> Call<'a, Result<T, String>>,
    ) -> Result<Result<T, String>, PluginError> {
        self.call(self.worlds.tab.as_ref(), "tab", call).await
    }

    async fn instance_call<T: Send>(
        &self,
        call: impl for<'a> FnOnce(
            &'a mut Store<State>,
            &'a bindings::instance::InstancePlugin,
        ) -> Call<'a, Result<T, String>>,
    ) -> Result<Result<T, String>, PluginError> {
        self.call(self.worlds.instance.as_ref(), "instance", call)
            .await
    }

    /// Runs `call` on a fresh instance of world `pre`, under the plugin's limits. An error
    /// the plugin returns is kept as its answer, with what the sandbox refused it added.
    ///
    /// The time limit holds twice: the epoch stops wasm that computes, and a wall clock stops
    /// the whole call, waiting for a free instance and in host calls (an HTTP answer that
    /// never comes) included.
    async fn call<W: World, T: Send>(
        &self,
        pre: Option<&W>,
        interface: &str,
        call: impl for<'a> FnOnce(&'a mut Store<State>, &'a W::Instance) -> Call<'a, Result<T, String>>,
    ) -> Result<Result<T, String>, PluginError> {
        let limit = Duration::from_millis(self.spec.grants.timeout_ms);
        let (outcome, answer) =
            match tokio::time::timeout(limit, self.call_unbounded(pre, interface, call)).await {
                Ok(Ok(Ok(answer))) => ("ok", Ok(Ok(answer))),
                Ok(Ok(Err(refusal))) => ("error", Ok(Err(refusal))),
                Ok(Err(failure)) => ("failed", Err(failure)),
                Err(_) => (
                    "timeout",
                    Err(self.fail(format!(
                        "stopped after its time limit of {} ms",
                        self.spec.grants.timeout_ms
                    ))),
                ),
            };
        metrics::counter!("kmviz_plugin_calls_total", "plugin" => self.spec.name.clone(), "outcome" => outcome)
            .increment(1);
        answer
    }

    async fn call_unbounded<W: World, T: Send>(
        &self,
        pre: Option<&W>,
        interface: &str,
        call: impl for<'a> FnOnce(&'a mut Store<State>, &'a W::Instance) -> Call<'a, Result<T, String>>,
    ) -> Result<Result<T, String>, PluginError> {
        let pre = pre.ok_or_else(|| self.fail(format!("it does not export a {interface}")))?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| self.fail("it was unloaded".into()))?;
        let mut store = self.store()?;
        let result = match pre.instantiate(&mut store).await {
            Ok(instance) => call(&mut store, &instance).await,
            Err(e) => Err(e),
        };
        let with_refused = |message: String| match self.refused(&store) {
            Some(refused) => format!("{message}; {refused}"),
            None => message,
        };
        match result {
            Ok(answer) => Ok(answer.map_err(with_refused)),
            Err(e) => Err(self.fail(with_refused(self.explain(&store, &e)))),
        }
    }

    /// What the sandbox refused the call, if anything.
    fn refused(&self, store: &Store<State>) -> Option<String> {
        let denied = store.data().hooks.denied.lock().expect("not poisoned");
        denied.first().map(|host| {
            format!(
                "it tried to reach {host}, which it was not granted (allow_http: {:?})",
                self.spec.grants.allow_http
            )
        })
    }

    /// Why a call trapped, in words.
    fn explain(&self, store: &Store<State>, error: &wasmtime::Error) -> String {
        let grants = &self.spec.grants;
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            format!("stopped after its time limit of {} ms", grants.timeout_ms)
        } else if store.data().memory.exceeded {
            format!(
                "stopped: it needed more than its memory limit of {} MB",
                grants.memory_mb
            )
        } else if let Some(trap) = error.downcast_ref::<Trap>() {
            // The plugin's own words (a panic message) went to its stderr, the server's.
            let what = trap.to_string();
            let what = what.trim_start_matches("wasm trap: ");
            format!("crashed ({what}); what it printed is in the server's log")
        } else {
            format!("failed: {error:#}")
        }
    }
}

/// A store's data: WASI, wasi:http and the limits.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: HttpGrant,
    memory: MemoryCap,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outgoing HTTP: to granted hosts only; attempts elsewhere are refused and remembered.
struct HttpGrant {
    hosts: Vec<String>,
    denied: Arc<Mutex<Vec<String>>>,
}

impl HttpGrant {
    fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(host), port) = (uri.host(), uri.port_u16()) else {
            return false;
        };
        self.hosts.iter().any(|granted| match port {
            Some(port) => *granted == format!("{host}:{port}") || granted == host,
            None => granted == host,
        })
    }
}

impl WasiHttpHooks for HttpGrant {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<
                            dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>>
                                + Send,
                        >,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        drop(fut);
        if !self.allows(request.uri()) {
            let authority = request
                .uri()
                .authority()
                .map_or_else(|| request.uri().to_string(), |a| a.to_string());
            self.denied.lock().expect("not poisoned").push(authority);
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}

/// The memory cap, remembering whether the plugin hit it.
struct MemoryCap {
    bytes: usize,
    exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.bytes;
        self.exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
