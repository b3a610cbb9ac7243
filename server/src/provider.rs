//! Providers: what answers a query for a database. [`Provider`] is the contract; each kind
//! (listed in [`KINDS`]) reads its configuration and opens ([`ProviderConfig`]): [`kmindex`]
//! queries a local index with the native engine, [`kmindex_server`] a kmindex-server over HTTP
//! (both publish kmviz's kmindex options, [`kmindex_options`]); a plugin's provider is
//! [`crate::plugin::provider`].

pub mod kmindex;
pub mod kmindex_server;

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use app::model::options::{OptionKind, OptionSpec, OptionValue, OptionValues};
use app::model::query::Query;
use app::model::results::QueryHits;

use ::kmindex::registry::Entry;

use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{self, Context, Kind, Params};

/// Why a provider did not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

pub use app::api::IndexInfo;

/// What a kmindex registry entry says of sub-index `name`.
pub fn index_info(name: &str, entry: &Entry, occupancy: Option<f64>) -> IndexInfo {
    IndexInfo {
        name: name.to_owned(),
        smer_size: entry.smer_size,
        abundance: entry.bw > 1,
        samples: entry.nb_samples,
        minimizer_size: Some(entry.minim_size),
        partitions: Some(entry.nb_partitions),
        bloom_size: Some(entry.bloom_size),
        bits_per_cell: Some(entry.bw),
        occupancy,
    }
}

/// The built-in kinds of provider.
pub const KINDS: &[Kind<dyn ProviderConfig>] = &[kmindex::KIND, kmindex_server::KIND];

/// A provider as a database configures it, opened when the instance starts.
pub trait ProviderConfig: Debug + Send + Sync + Any {
    fn open<'a>(
        &'a self,
        context: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Provider>, ProviderError>>;
}

/// Reads the provider of `type = params.kind`: a built-in kind, or the plugin of that name
/// among `plugins`; `None` when there is neither.
pub fn read(
    params: &Params,
    plugins: &[String],
) -> Option<Result<Arc<dyn ProviderConfig>, Invalid>> {
    registry::read(KINDS, params, plugins, |plugin, params| {
        Arc::new(crate::plugin::provider::Configured { plugin, params })
    })
}

/// A source of answers to queries.
pub trait Provider: Send + Sync + Debug {
    /// The configuration's name for this kind of provider, e.g. `kmindex`.
    fn kind(&self) -> &'static str;

    /// The (sub-)indexes searched; an error when they cannot be read now (e.g. a server down).
    fn indexes(&self) -> BoxFuture<'_, Result<Vec<IndexInfo>, ProviderError>>;

    /// The options users may set, with the provider's defaults.
    fn options(&self) -> Vec<OptionSpec>;

    /// Answers `query` with `options` (already checked against [`Provider::options`]), one
    /// [`QueryHits`] per (sub-)index.
    fn query<'a>(
        &'a self,
        query: &'a Query,
        options: &'a OptionValues,
    ) -> BoxFuture<'a, Result<Vec<QueryHits>, ProviderError>>;
}

/// The option naming the sub-indexes to search.
pub const INDEX_OPTION: &str = "index";

/// The options of kmindex-backed providers: kmviz 0.8's `z` and `coverage` (same names and
/// defaults), and which of the `sub_indexes` to search (all by default).
pub fn kmindex_options(sub_indexes: &[String]) -> Vec<OptionSpec> {
    vec![
        OptionSpec::new(
            "z",
            "findere: index s-mers, query (s+z)-mers; higher z, fewer false positives",
            OptionKind::Range {
                min: 0.0,
                max: 5.0,
                step: 1.0,
                default: 0.0,
            },
        ),
        OptionSpec::new(
            "coverage",
            "report samples holding at least this fraction of the query's k-mers",
            OptionKind::Range {
                min: 0.0,
                max: 1.0,
                step: 0.05,
                default: 0.1,
            },
        ),
        OptionSpec::new(
            INDEX_OPTION,
            "the sub-indexes to search",
            OptionKind::MultiChoice {
                choices: sub_indexes.to_vec(),
                default: sub_indexes.to_vec(),
            },
        ),
    ]
}

/// `z`, `coverage` and the sub-indexes of resolved kmindex options.
fn kmindex_settings(options: &OptionValues) -> (usize, f64, Vec<String>) {
    let number = |name| match options.get(name) {
        Some(OptionValue::Number(n)) => *n,
        _ => 0.0,
    };
    let indexes = match options.get(INDEX_OPTION) {
        Some(OptionValue::List(names)) => names.clone(),
        _ => Vec::new(),
    };
    (number("z") as usize, number("coverage"), indexes)
}
