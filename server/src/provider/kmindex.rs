//! The `kmindex` provider: a kmindex index on local disk, queried with the native engine.

use std::sync::Arc;

use app::model::options::{OptionSpec, OptionValues};
use app::model::query::Query;
use app::model::results::{QueryHits, SampleHit};

use super::{BoxFuture, IndexInfo, Provider, ProviderError, kmindex_options, kmindex_settings};
use crate::kmindex::index::Index;

/// A local kmindex index.
#[derive(Debug, Clone)]
pub struct LocalKmindex {
    index: Arc<Index>,
}

impl LocalKmindex {
    pub fn new(index: Arc<Index>) -> LocalKmindex {
        LocalKmindex { index }
    }

    fn sub_index_names(&self) -> Vec<String> {
        self.index
            .sub_indexes()
            .map(|s| s.name().to_owned())
            .collect()
    }
}

impl Provider for LocalKmindex {
    fn kind(&self) -> &'static str {
        "kmindex"
    }

    fn indexes(&self) -> BoxFuture<'_, Result<Vec<IndexInfo>, ProviderError>> {
        let infos = self
            .index
            .sub_indexes()
            .map(|s| IndexInfo::of_entry(s.name(), s.entry(), Some(s.occupancy())))
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
        let index = Arc::clone(&self.index);
        let query = query.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                names
                    .iter()
                    .map(|name| query_sub_index(&index, name, &query, z, coverage))
                    .collect()
            })
            .await
            .map_err(|e| ProviderError(format!("the query task failed: {e}")))?
        })
    }
}

fn query_sub_index(
    index: &Index,
    name: &str,
    query: &Query,
    z: usize,
    coverage: f64,
) -> Result<QueryHits, ProviderError> {
    let sub = index
        .get(name)
        .ok_or_else(|| ProviderError(format!("no sub-index '{name}'")))?;
    let result = sub
        .query(&[query.seq.as_bytes()], z, true)
        .map_err(|e| ProviderError(format!("sub-index '{name}': {e}")))?
        .pop()
        .expect("one result per sequence");
    let abundance = sub.bw() > 1;
    let positions = result.positions.unwrap_or_default();
    let samples = sub
        .samples()
        .iter()
        .enumerate()
        .filter(|&(i, _)| result.ratios[i] >= coverage && !result.ratios[i].is_nan())
        .map(|(i, sample)| SampleHit {
            sample: sample.clone(),
            kmer_ratio: result.ratios[i],
            mean_abundance: abundance.then_some(result.counts[i]),
            kmers: positions[i].iter().map(|&p| u32::from(p)).collect(),
        })
        .collect();
    Ok(QueryHits {
        query: query.name.clone(),
        index: name.to_owned(),
        kmer_size: sub.smer_size() + z,
        abundance,
        samples,
    })
}
