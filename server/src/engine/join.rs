//! Joins a provider's answers with metadata: one [`Hit`] per (sub-index, sample), with its
//! coverage and its metadata row, or null metadata and `has_metadata: false` when the MetaDB
//! has no row for it. Hits are ranked by `CovXK`, then `CovXB`, then `CovYK`, best first (ties
//! by id), and capped.

use std::cmp::Ordering;
use std::collections::HashMap;

use app::model::results::{Coverage, QueryHits};
use app::model::session::{Geodata, Hit, IndexAnswer, PairResult, Value};
use arrow_array::{Array, RecordBatch, StringArray};

use crate::metadb::{Rows, columns};

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
    // Built per pair: foldhash over SipHash halves its cost.
    let rows: HashMap<&str, usize, foldhash::fast::RandomState> = (0..ids.len())
        .filter(|&r| !ids.is_null(r))
        .map(|r| (ids.value(r), r))
        .collect();
    let width = metadata.num_columns() - 1;
    let indexes = answers
        .iter()
        .map(|a| IndexAnswer {
            name: a.index.clone(),
            kmer_size: a.kmer_size,
            abundance: a.abundance,
        })
        .collect();
    let found = answers.iter().map(|a| a.samples.len()).sum();
    let mut ranked: Vec<(Hit, Option<usize>)> = Vec::with_capacity(found);
    for answer in answers {
        for sample in answer.samples {
            let coverage = Coverage::of(
                &sample.kmers,
                sample.kmer_ratio,
                answer.kmer_size,
                query_length,
                answer.abundance,
            );
            let row = rows.get(sample.sample.as_str()).copied();
            let hit = Hit {
                index: answer.index.clone(),
                has_metadata: row.is_some(),
                metadata: Vec::new(),
                id: sample.sample,
                coverage,
                kmers: sample.kmers,
            };
            ranked.push((hit, row));
        }
    }
    ranked.sort_by(|(a, _), (b, _)| rank(a, b));
    let not_shown = ranked.len().saturating_sub(max_results);
    ranked.truncate(max_results);
    // Only the kept hits read their metadata.
    let reader = Rows::new(&metadata.columns()[1..]);
    let hits = ranked
        .into_iter()
        .map(|(mut hit, row)| {
            hit.metadata = match row {
                Some(row) => reader.row(row),
                None => vec![Value::Null; width],
            };
            hit
        })
        .collect();
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
