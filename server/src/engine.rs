//! The query engine: the instance's databases (a provider paired with a MetaDB), the checking
//! of a request against them, and the running of one (query, database) pair: provider answer,
//! coverage, join with metadata, ranking and cap ([`join`]).

pub mod join;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use app::api::kmer_size;
use app::model::options::{OptionSpec, OptionValues, resolve};
use app::model::query::Query;
use app::model::session::{DatabaseRun, PairResult};

use crate::config::{DatabaseSpec, EngineConfig, OptionDefault};
use crate::metadb::{self, MetaDb, MetaDbError};
use crate::plugin::Plugins;
use crate::provider::kmindex::LocalIndexes;
use crate::provider::{Provider, ProviderError};
use crate::registry::Context;

/// A provider paired with a MetaDB, under a name.
#[derive(Debug)]
pub struct Database {
    pub name: String,
    pub provider: Arc<dyn Provider>,
    pub metadb: Arc<dyn MetaDb>,
    pub defaults: BTreeMap<String, OptionDefault>,
    pub presets: Option<app::api::Presets>,
    /// Column → link template for its cells.
    pub links: BTreeMap<String, String>,
}

impl Database {
    /// Whether the provider and the MetaDB answer now: the sub-indexes, and one metadata row.
    pub async fn check(&self) -> Result<(), CheckError> {
        self.provider.indexes().await?;
        self.metadb.page(0, 1).await?;
        Ok(())
    }

    /// Opens the provider and the MetaDB `spec` names, with what `context` holds.
    pub async fn open(spec: DatabaseSpec, context: &Context<'_>) -> Result<Database, OpenError> {
        let failed = |reason: PairError| OpenError {
            database: spec.name.clone(),
            reason: reason.to_string(),
        };
        let provider = spec
            .provider
            .open(context)
            .await
            .map_err(|e| failed(e.into()))?;
        let metadb = spec
            .metadb
            .open(context)
            .await
            .map_err(|e| failed(e.into()))?;
        let database = Database {
            name: spec.name,
            provider,
            metadb,
            defaults: spec.defaults,
            presets: spec.presets,
            links: spec.links,
        };
        database.check_defaults()?;
        let columns = metadb::columns(&database.metadb.schema());
        if let Some(missing) = database
            .links
            .keys()
            .find(|link| !columns.iter().any(|c| c.name == **link))
        {
            return Err(OpenError {
                database: database.name.clone(),
                reason: format!("metadata.links: no column '{missing}'"),
            });
        }
        Ok(database)
    }

    /// The provider's options with this database's configured values and visibility.
    pub fn options(&self) -> Vec<OptionSpec> {
        let mut specs = self.provider.options();
        for spec in &mut specs {
            if let Some(default) = self.defaults.get(&spec.name) {
                spec.hidden = default.hide;
                if default.value.is_some() {
                    spec.value.clone_from(&default.value);
                }
            }
        }
        specs
    }

    /// Checks the configured option values against the provider's options (known once it
    /// is open).
    fn check_defaults(&self) -> Result<(), OpenError> {
        let failed = |reason| OpenError {
            database: self.name.clone(),
            reason,
        };
        let specs = self.options();
        for (name, default) in &self.defaults {
            let spec = specs.iter().find(|s| &s.name == name).ok_or_else(|| {
                let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                failed(format!(
                    "defaults.{name}: unknown option; known options: {}",
                    known.join(", ")
                ))
            })?;
            if let Some(value) = &default.value {
                spec.check(value)
                    .map_err(|e| failed(format!("defaults: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Why a database could not be opened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("database '{database}': {reason}")]
pub struct OpenError {
    pub database: String,
    pub reason: String,
}

/// Why a database does not answer now.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    #[error("provider: {0}")]
    Provider(#[from] ProviderError),
    #[error("metadata: {0}")]
    MetaDb(#[from] MetaDbError),
}

/// Why a (query, database) pair failed, as its session keeps it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PairError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("metadata: {0}")]
    MetaDb(#[from] MetaDbError),
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("the join failed: {0}")]
    Join(String),
}

/// Why a request was refused before running.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("no database chosen")]
    NoDatabase,
    #[error("unknown database '{name}'; known: {known}")]
    UnknownDatabase { name: String, known: String },
    #[error("database '{name}' is chosen twice")]
    Repeated { name: String },
    #[error("database '{database}': {reason}")]
    Option { database: String, reason: String },
}

/// A database named by a request, with the option values the request sets.
pub type Selection = (String, OptionValues);

/// The instance's databases and how pairs run.
#[derive(Debug)]
pub struct Engine {
    databases: BTreeMap<String, Arc<Database>>,
    settings: EngineConfig,
}

impl Engine {
    pub fn new(databases: Vec<Database>, settings: EngineConfig) -> Engine {
        Engine {
            databases: databases
                .into_iter()
                .map(|d| (d.name.clone(), Arc::new(d)))
                .collect(),
            settings,
        }
    }

    /// Opens every database of `specs`, all at once.
    pub async fn open(
        specs: Vec<DatabaseSpec>,
        settings: EngineConfig,
        plugins: &Plugins,
    ) -> Result<Engine, OpenError> {
        let context = Context {
            plugins,
            local: &LocalIndexes::default(),
            timeout: Duration::from_secs(settings.timeout),
        };
        let opened = futures_util::future::join_all(
            specs.into_iter().map(|spec| Database::open(spec, &context)),
        )
        .await;
        Ok(Engine::new(
            opened.into_iter().collect::<Result<_, _>>()?,
            settings,
        ))
    }

    pub fn databases(&self) -> impl Iterator<Item = &Arc<Database>> {
        self.databases.values()
    }

    pub fn database(&self, name: &str) -> Result<&Arc<Database>, RequestError> {
        self.databases
            .get(name)
            .ok_or_else(|| RequestError::UnknownDatabase {
                name: name.to_owned(),
                known: self
                    .databases
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn settings(&self) -> &EngineConfig {
        &self.settings
    }

    /// Checks the chosen databases and their option values, filling in the others.
    pub fn check(&self, chosen: Vec<Selection>) -> Result<Vec<DatabaseRun>, RequestError> {
        if chosen.is_empty() {
            return Err(RequestError::NoDatabase);
        }
        let mut runs: Vec<DatabaseRun> = Vec::with_capacity(chosen.len());
        for (name, given) in chosen {
            if runs.iter().any(|r| r.name == name) {
                return Err(RequestError::Repeated { name });
            }
            let database = self.database(&name)?;
            let options =
                resolve(&database.options(), &given).map_err(|e| RequestError::Option {
                    database: name.clone(),
                    reason: e.to_string(),
                })?;
            runs.push(DatabaseRun { name, options });
        }
        Ok(runs)
    }

    /// Each run's database and the shortest k-mer its queries are cut into, for warnings (a
    /// database whose indexes cannot be read at once, a remote server down or slow, is left
    /// out: warnings never hold up a submission).
    pub async fn kmer_sizes(&self, runs: &[DatabaseRun]) -> Vec<(String, usize)> {
        const WAIT: Duration = Duration::from_millis(250);
        let sizes = runs.iter().map(|run| async move {
            let database = self.database(&run.name).ok()?;
            let indexes = tokio::time::timeout(WAIT, database.provider.indexes())
                .await
                .ok()?
                .ok()?;
            // Resolved by `check`: `z` is in them when the provider has one.
            let k = kmer_size(&indexes, &[], &run.options)?;
            Some((run.name.clone(), k))
        });
        futures_util::future::join_all(sizes)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Runs `query` against `run`'s database, within the configured time.
    pub async fn run(&self, query: &Query, run: &DatabaseRun) -> Result<PairResult, PairError> {
        let database = self.database(&run.name)?;
        let limit = Duration::from_secs(self.settings.timeout);
        let started = std::time::Instant::now();
        let result =
            match tokio::time::timeout(limit, self.run_unbounded(query, database, &run.options))
                .await
            {
                Ok(result) => result,
                Err(_) => Err(PairError::Timeout(self.settings.timeout)),
            };
        let name = database.name.clone();
        metrics::histogram!("kmviz_database_query_seconds", "database" => name.clone())
            .record(started.elapsed().as_secs_f64());
        if result.is_err() {
            metrics::counter!("kmviz_database_failures_total", "database" => name).increment(1);
        }
        result
    }

    async fn run_unbounded(
        &self,
        query: &Query,
        database: &Database,
        options: &OptionValues,
    ) -> Result<PairResult, PairError> {
        let answers = database.provider.query(query, options).await?;
        let mut ids: Vec<String> = answers
            .iter()
            .flat_map(|a| a.samples.iter().map(|s| s.sample.clone()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let metadata = database.metadb.fetch(&ids).await?;
        let (query_length, geodata, max_results) = (
            query.seq.len(),
            database.metadb.geodata().cloned(),
            self.settings.max_results,
        );
        // Coverage, join and ranking take milliseconds for thousands of hits: not on the
        // async workers.
        crate::cpu::run(move || join::join(query_length, answers, &metadata, geodata, max_results))
            .await
            .map_err(|e| PairError::Join(e.to_string()))
    }
}
