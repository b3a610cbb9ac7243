//! Joins a provider's answers with metadata: one [`Hit`] per (sub-index, sample), with its
//! coverage and its metadata row, or null metadata and `has_metadata: false` when the MetaDB
//! has no row for it. Hits are ranked by `CovXK`, then `CovXB`, then `CovYK`, best first (ties
//! by id), and capped.

use std::cmp::Ordering;
use std::collections::HashMap;

use app::model::results::{Coverage, QueryHits};
use app::model::session::{Geodata, Hit, IndexAnswer, PairResult, Value};
use arrow_array::{Array, RecordBatch, StringArray};

use crate::metadb::{columns, value};

/// Joins `answers` (for a query of `query_length` letters) with `metadata` (a MetaDB batch,
/// `ID` first), keeping the `max_results` best hits.
pub fn join(
    query_length: usize,
    answers: Vec<QueryHits>,
    metadata: &RecordBatch,
    geodata: Option<Geodata>,
    max_results: usize,
) -> PairResult {
    let ids = metadata
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("MetaDB batches have a text ID first");
    let rows: HashMap<&str, usize> = (0..ids.len())
        .filter(|&r| !ids.is_null(r))
        .map(|r| (ids.value(r), r))
        .collect();
    let width = metadata.num_columns() - 1;
    let metadata_of = |id: &str| -> Option<Vec<Value>> {
        let row = *rows.get(id)?;
        Some(
            (1..=width)
                .map(|c| value(metadata.column(c).as_ref(), row))
                .collect(),
        )
    };
    let indexes = answers
        .iter()
        .map(|a| IndexAnswer {
            name: a.index.clone(),
            kmer_size: a.kmer_size,
            abundance: a.abundance,
        })
        .collect();
    let mut hits: Vec<Hit> = Vec::new();
    for answer in answers {
        for sample in answer.samples {
            let coverage = Coverage::of(
                &sample.kmers,
                sample.kmer_ratio,
                answer.kmer_size,
                query_length,
                answer.abundance,
            );
            let found = metadata_of(&sample.sample);
            hits.push(Hit {
                index: answer.index.clone(),
                has_metadata: found.is_some(),
                metadata: found.unwrap_or_else(|| vec![Value::Null; width]),
                id: sample.sample,
                coverage,
                kmers: sample.kmers,
            });
        }
    }
    hits.sort_by(rank);
    let not_shown = hits.len().saturating_sub(max_results);
    hits.truncate(max_results);
    PairResult {
        query_length,
        indexes,
        columns: columns(&metadata.schema()),
        geodata,
        hits,
        not_shown,
    }
}

fn rank(a: &Hit, b: &Hit) -> Ordering {
    let (x, y) = (&a.coverage, &b.coverage);
    y.cov_xk
        .total_cmp(&x.cov_xk)
        .then(y.cov_xb.total_cmp(&x.cov_xb))
        .then(y.cov_yk.unwrap_or(0.0).total_cmp(&x.cov_yk.unwrap_or(0.0)))
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.index.cmp(&b.index))
}
