//! The `kmindex` provider: a kmindex index on local disk, queried with the native engine.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use app::model::options::{OptionSpec, OptionValues};
use app::model::query::Query;
use app::model::results::{QueryHits, SampleHit};

use serde::Deserialize;

use super::{
    IndexInfo, Provider, ProviderConfig, ProviderError, kmindex_options, kmindex_settings,
};
use crate::config::Invalid;
use crate::future::{BoxFuture, StopOnDrop};
use crate::registry::{Context, Kind, Params};
use kmindex::index::Index;
use kmindex::{QueryError, QueryResult, SubIndex};

/// `type = "kmindex"` (kmviz 0.8's `kmindex-cli` too): an index folder on this machine.
pub const KIND: Kind<dyn ProviderConfig> = Kind {
    names: &["kmindex", "kmindex-cli"],
    read,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KmindexParams {
    index_path: PathBuf,
    /// kmviz 0.8's kmindex binary: not needed (the configuration's warnings say so).
    #[serde(default)]
    #[allow(dead_code)]
    executable: Option<String>,
}

/// A local index as a database configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub index_path: PathBuf,
}

fn read(params: &Params) -> Result<Arc<dyn ProviderConfig>, Invalid> {
    let read: KmindexParams = params.read()?;
    Ok(Arc::new(Configured {
        index_path: params.path(&read.index_path),
    }))
}

impl ProviderConfig for Configured {
    fn open<'a>(
        &'a self,
        context: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Provider>, ProviderError>> {
        Box::pin(async move {
            let (path, local) = (self.index_path.clone(), context.local.clone());
            let failed = |e: &dyn std::fmt::Display| ProviderError(format!("index: {e}"));
            let provider = tokio::task::spawn_blocking(move || local.open(path))
                .await
                .map_err(|e| failed(&e))?
                .map_err(|e| failed(&e))?;
            Ok(Arc::new(provider) as Arc<dyn Provider>)
        })
    }
}

/// The local indexes opened so far, by folder: databases on one index share its provider (its
/// mapped files and its recent lookups).
#[derive(Debug, Clone, Default)]
pub struct LocalIndexes(Arc<Mutex<HashMap<PathBuf, LocalKmindex>>>);

impl LocalIndexes {
    /// The provider of the index in `dir`, opened now unless it was already (blocking).
    fn open(&self, dir: PathBuf) -> Result<LocalKmindex, kmindex::Error> {
        let key = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let mut opened = self.0.lock().expect("not poisoned");
        if let Some(provider) = opened.get(&key) {
            return Ok(provider.clone());
        }
        let provider = LocalKmindex::new(Arc::new(Index::open(&dir)?));
        opened.insert(key, provider.clone());
        Ok(provider)
    }
}

/// A local kmindex index. Databases on the same index share one ([`LocalIndexes`]), and with
/// it the answers of recent lookups: a query asked of several databases is looked up once.
#[derive(Debug, Clone)]
pub struct LocalKmindex {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    index: Arc<Index>,
    recent: Mutex<VecDeque<Arc<Lookup>>>,
}

/// Lookups kept for sharing: enough for the pairs of a job that run at once.
const RECENT: usize = 64;

/// One (sub-index, z, sequence) lookup, done by the first pair that asks for it; the others
/// wait for its answer.
#[derive(Debug)]
struct Lookup {
    sub_index: String,
    z: usize,
    hash: u64,
    seq: Arc<str>,
    /// `None` when the lookup was stopped.
    answer: OnceLock<Option<Result<Arc<QueryResult>, ProviderError>>>,
}

impl LocalKmindex {
    pub fn new(index: Arc<Index>) -> LocalKmindex {
        LocalKmindex {
            shared: Arc::new(Shared {
                index,
                recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            }),
        }
    }

    fn sub_index_names(&self) -> Vec<String> {
        self.shared
            .index
            .sub_indexes()
            .map(|s| s.name().to_owned())
            .collect()
    }
}

impl Shared {
    /// The answer of sub-index `name` to `seq` with `z`, every sample with its values: looked
    /// up now, or shared with a recent lookup of the same. Given up once `stop` is set.
    fn lookup(
        &self,
        name: &str,
        seq: &Arc<str>,
        z: usize,
        stop: &AtomicBool,
    ) -> Result<Arc<QueryResult>, ProviderError> {
        loop {
            let lookup = self.recent_lookup(name, seq, z);
            let answer = lookup.answer.get_or_init(|| {
                let Some(sub) = self.index.get(name) else {
                    return Some(Err(ProviderError(format!("no sub-index '{name}'"))));
                };
                match sub.query_until(&[seq.as_bytes()], z, true, stop) {
                    Ok(mut results) => Some(Ok(Arc::new(
                        results.pop().expect("one result per sequence"),
                    ))),
                    Err(QueryError::Stopped) => None,
                    Err(e) => Some(Err(ProviderError(format!("sub-index '{name}': {e}")))),
                }
            });
            if let Some(answer) = answer {
                return answer.clone();
            }
            // Stopped, by this request or by the one it waited for: not kept, and done again
            // for a request that still wants it.
            self.recent
                .lock()
                .expect("not poisoned")
                .retain(|l| !Arc::ptr_eq(l, &lookup));
            if stop.load(Ordering::Relaxed) {
                return Err(ProviderError("the lookup was stopped".into()));
            }
        }
    }

    /// The recent lookup of (`name`, `seq`, `z`), made now (not yet done) if there is none.
    fn recent_lookup(&self, name: &str, seq: &Arc<str>, z: usize) -> Arc<Lookup> {
        let hash = xxhash_rust::xxh64::xxh64(seq.as_bytes(), z as u64);
        let mut recent = self.recent.lock().expect("not poisoned");
        let found = recent
            .iter()
            .find(|l| l.hash == hash && l.z == z && l.sub_index == name && l.seq == *seq);
        if let Some(lookup) = found {
            return Arc::clone(lookup);
        }
        if recent.len() == RECENT {
            recent.pop_front();
        }
        let lookup = Arc::new(Lookup {
            sub_index: name.to_owned(),
            z,
            hash,
            seq: Arc::clone(seq),
            answer: OnceLock::new(),
        });
        recent.push_back(Arc::clone(&lookup));
        lookup
    }
}

impl Provider for LocalKmindex {
    fn kind(&self) -> &'static str {
        "kmindex"
    }

    fn indexes(&self) -> BoxFuture<'_, Result<Vec<IndexInfo>, ProviderError>> {
        let infos = self
            .shared
            .index
            .sub_indexes()
            .map(|s| super::index_info(s.name(), s.entry(), Some(s.occupancy())))
            .collect();
        Box::pin(async move { Ok(infos) })
    }

    fn options(&self) -> Vec<OptionSpec> {
        kmindex_options(&self.sub_index_names())
    }

    fn query<'a>(
        &'a self,
        query: &'a Query,
        options: &'a OptionValues,
    ) -> BoxFuture<'a, Result<Vec<QueryHits>, ProviderError>> {
        let (z, coverage, mut names) = kmindex_settings(options);
        if names.is_empty() {
            names = self.sub_index_names();
        }
        let shared = Arc::clone(&self.shared);
        let (name, seq): (String, Arc<str>) = (query.name.clone(), query.seq.as_str().into());
        Box::pin(async move {
            // A request timed out, cancelled or gone drops this future: the lookup stops.
            let stop = Arc::new(AtomicBool::new(false));
            let _stop_when_dropped = StopOnDrop(Arc::clone(&stop));
            crate::cpu::run(move || {
                names
                    .iter()
                    .map(|index| {
                        let result = shared.lookup(index, &seq, z, &stop)?;
                        let sub = shared.index.get(index).expect("looked up");
                        Ok(hits(sub, &name, &result, z, coverage))
                    })
                    .collect()
            })
            .await
            .map_err(|e| ProviderError(format!("the query task failed: {e}")))?
        })
    }
}

/// The samples of `result` at or above `coverage`, with their values.
fn hits(sub: &SubIndex, query: &str, result: &QueryResult, z: usize, coverage: f64) -> QueryHits {
    let abundance = sub.bw() > 1;
    let samples = sub
        .samples()
        .iter()
        .enumerate()
        .filter(|&(i, _)| result.ratios[i] >= coverage && !result.ratios[i].is_nan())
        .map(|(i, sample)| SampleHit {
            sample: sample.clone(),
            kmer_ratio: result.ratios[i],
            mean_abundance: abundance.then_some(result.counts[i]),
            kmers: result
                .positions
                .as_ref()
                .map(|p| p.kmers(i))
                .unwrap_or_default(),
        })
        .collect();
    QueryHits {
        query: query.to_owned(),
        index: sub.name().to_owned(),
        kmer_size: sub.smer_size() + z,
        abundance,
        samples,
    }
}
