//! The bodies of kmviz's JSON API: the server answers with these types and the browser reads
//! them, so that a field changed on one side breaks the build of the other. What the server
//! reads from its configuration stays in the server; what a body holds of the shared model
//! (option schemas, sessions, hits) is in [`crate::model`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::options::{OptionSpec, OptionValue, OptionValues};
use crate::model::plugins::{Branding, PluginTab};
use crate::model::query::InputLimits;
use crate::model::session::{Column, Geodata, Pair, PairState, Progress, Status, Value};

/// Every error's body, whatever the route: `{"error": "what is wrong"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
}

/// `GET /api/info`: the databases, the input limits and the app's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Info {
    /// The server's version.
    pub version: String,
    pub databases: Vec<DatabaseInfo>,
    /// The databases chosen when the app opens.
    pub default: Preselection,
    pub input: InputLimits,
    /// Most hits kept per (query, database).
    pub max_results: usize,
    pub ui: Tabs,
    /// Example queries (FASTA) the app offers to try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Plugins' analysis tabs, in order.
    pub tabs: Vec<PluginTab>,
    /// Instance plugins' home page, help and styles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    /// The instance mails when a job ends, to the address a submission gives (`email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
}

/// How the app offers mails when jobs end.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notify {
    /// What the operator says beside the address field (kmviz 0.8's `ui_notif_msg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Which tabs the app shows (kmviz 0.8's `ui.with_*_tab`), and the one it opens on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tabs {
    pub with_index_tab: bool,
    pub with_plot_tab: bool,
    pub with_map_tab: bool,
    pub with_sequence_tab: bool,
    pub with_help_tab: bool,
    pub default_tab: String,
}

/// The databases selected when the app opens (kmviz 0.8's `default`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preselection {
    pub database: Vec<String>,
    /// A named set of options, as kmviz 0.8's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    /// Whether the selection is hidden from users.
    #[serde(default)]
    pub hide: bool,
}

/// One database: its provider, sub-indexes, options, metadata and figure presets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseInfo {
    pub name: String,
    /// The provider's kind, e.g. `kmindex`.
    pub provider: String,
    /// Why the provider cannot be used now (e.g. its server is down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub indexes: Vec<IndexInfo>,
    pub options: Vec<OptionSpec>,
    pub metadata: MetadataInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<Presets>,
}

impl DatabaseInfo {
    /// The shortest k-mer its queries are cut into under `options` (those given; the others
    /// take their initial values).
    pub fn kmer_size(&self, options: &OptionValues) -> Option<usize> {
        kmer_size(&self.indexes, &self.options, options)
    }
}

/// The shortest k-mer a query is cut into under `options`: `s + z` over `indexes`, with the
/// `z` given, else its initial value in `specs`, else 0 (a provider without `z`).
pub fn kmer_size(
    indexes: &[IndexInfo],
    specs: &[OptionSpec],
    options: &OptionValues,
) -> Option<usize> {
    let z = options
        .get("z")
        .cloned()
        .or_else(|| Some(specs.iter().find(|o| o.name == "z")?.initial_value()));
    let z = match z {
        Some(OptionValue::Number(z)) if z >= 0.0 => z as usize,
        _ => 0,
    };
    indexes.iter().map(|i| i.smer_size + z).min()
}

/// One (sub-)index a provider searches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexInfo {
    pub name: String,
    /// The indexed s-mer size (queries are cut into k-mers of `smer_size + z`).
    pub smer_size: usize,
    pub abundance: bool,
    pub samples: usize,
    // The layout of kmindex indexes; other providers may not have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimizer_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<usize>,
    /// Rows of each sample's Bloom filter (one hash function).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bloom_size: Option<u64>,
    /// Bits per sample and row: 1 for presence/absence, more for abundance classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits_per_cell: Option<usize>,
    /// The fraction of non-empty cells, measured on a sample of rows when the matrices can
    /// be read: the false-positive rate of one s-mer lookup (`occupancy^(z+1)` for a k-mer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<f64>,
}

/// A database's metadata: its size, columns, coordinates and links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetadataInfo {
    /// `None` when the MetaDB cannot be read now (`error` says why).
    pub rows: Option<usize>,
    /// Without `ID`.
    pub columns: Vec<Column>,
    pub geodata: Option<Geodata>,
    /// Column → link template (`{}` stands for the value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A database's figure presets, in kmviz 0.8's `presets.toml` format.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Presets {
    /// Whether the default presets are applied when results are shown.
    #[serde(default)]
    pub priority: bool,
    /// Plot presets by name.
    #[serde(default)]
    pub plot: BTreeMap<String, serde_json::Value>,
    /// Map presets by name.
    #[serde(default)]
    pub map: BTreeMap<String, serde_json::Value>,
    /// The default preset's name for `plot` and for `map`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<BTreeMap<String, String>>,
}

/// `GET /api/databases/{db}/metadata?offset=&limit=`: a page of a database's metadata table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetadataPage {
    pub offset: usize,
    pub limit: usize,
    /// Rows in the whole table.
    pub total: usize,
    /// `ID` first.
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

/// `POST /api/query` as JSON: the queries and the chosen databases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// FASTA/FASTQ text, or a bare sequence.
    pub fastx: String,
    pub databases: Vec<Chosen>,
    /// Where to mail when the job ends (instances with `notify` in `/api/info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A chosen database: its name alone (its default options), or with options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Chosen {
    Name(String),
    WithOptions {
        name: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(inline))]
        options: OptionValues,
    },
}

/// The answer to `POST /api/query`: the new session, running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Submitted {
    pub session: String,
    pub status: Status,
    /// What was accepted but will not search as meant (letters outside `ACGTN`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One session of `GET /api/sessions`: the caller's sessions, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    pub id: String,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub status: Status,
    pub queries: usize,
    pub databases: Vec<String>,
}

/// One event of `GET /api/sessions/{id}/events`: the session's status, counts, and the pairs
/// whose state changed since the stream's previous event (all of them in its first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgressEvent {
    pub status: Status,
    pub progress: Progress,
    pub pairs: Vec<PairProgress>,
}

impl ProgressEvent {
    /// `events`, in order, as one: each pair's last change, the last status and counts.
    pub fn merged(events: impl IntoIterator<Item = ProgressEvent>) -> Option<ProgressEvent> {
        let mut events = events.into_iter();
        let mut all = events.next()?;
        let mut at: std::collections::HashMap<usize, usize> = all
            .pairs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.position, i))
            .collect();
        for event in events {
            for pair in event.pairs {
                match at.get(&pair.position) {
                    Some(&i) => all.pairs[i] = pair,
                    None => {
                        at.insert(pair.position, all.pairs.len());
                        all.pairs.push(pair);
                    }
                }
            }
            all.status = event.status;
            all.progress = event.progress;
        }
        Some(all)
    }
}

/// A pair's state in a [`ProgressEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairProgress {
    /// The pair's index in the session's `pairs`.
    pub position: usize,
    pub query: String,
    pub database: String,
    pub state: PairState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many hits, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<usize>,
}

/// A session's pair with its place in `pairs`: what `GET /api/sessions/{id}/pairs` answers,
/// for the pairs a progress event says are done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PositionedPair {
    pub position: usize,
    pub pair: Pair,
}

/// Pair positions as the `positions` parameter: ascending, runs as `a-b` (`0-3,7`).
pub fn positions_param(positions: &[usize]) -> String {
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for p in sorted {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == p => *end = p,
            _ => runs.push((p, p)),
        }
    }
    let written: Vec<String> = runs
        .into_iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    written.join(",")
}

/// Reads a `positions` parameter (see [`positions_param`]); says which part is not a position
/// or a run of them.
pub fn parse_positions(text: &str) -> Result<Vec<usize>, String> {
    let mut positions = Vec::new();
    for part in text.split(',').map(str::trim) {
        let number = |s: &str| s.trim().parse::<usize>().ok();
        let run = match part.split_once('-') {
            Some((a, b)) => number(a).zip(number(b)).filter(|(a, b)| a <= b),
            None => number(part).map(|p| (p, p)),
        };
        let (a, b) =
            run.ok_or_else(|| format!("'{part}' is neither a position nor a run like 3-7"))?;
        positions.extend(a..=b);
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_merge_into_each_pairs_last_change() {
        let pair = |position: usize, state: PairState| PairProgress {
            position,
            query: format!("q{position}"),
            database: "d".into(),
            state,
            error: None,
            hits: None,
        };
        let event = |status: Status, finished: usize, pairs: Vec<PairProgress>| ProgressEvent {
            status,
            progress: Progress {
                total: 3,
                finished,
                failed: 0,
                cancelled: 0,
            },
            pairs,
        };
        let first = event(
            Status::Running,
            0,
            vec![pair(0, PairState::Pending), pair(1, PairState::Pending)],
        );
        let second = event(Status::Running, 1, vec![pair(1, PairState::Done)]);
        let last = event(
            Status::Done,
            3,
            vec![pair(0, PairState::Done), pair(2, PairState::Done)],
        );
        let all = ProgressEvent::merged([first, second, last.clone()]).unwrap();
        assert_eq!(all.status, Status::Done);
        assert_eq!(all.progress, last.progress);
        assert_eq!(
            all.pairs,
            [
                pair(0, PairState::Done),
                pair(1, PairState::Done),
                pair(2, PairState::Done)
            ]
        );
        assert!(ProgressEvent::merged([]).is_none());
    }

    #[test]
    fn positions_go_as_runs_and_come_back() {
        assert_eq!(positions_param(&[7, 0, 1, 2, 3, 9, 10, 3]), "0-3,7,9-10");
        assert_eq!(
            parse_positions("0-3,7,9-10").unwrap(),
            [0, 1, 2, 3, 7, 9, 10]
        );
        assert_eq!(parse_positions(" 5 ").unwrap(), [5]);
        for bad in ["", "a", "3-", "7-3", "1,,2"] {
            assert!(parse_positions(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_positions("1,x").unwrap_err(),
            "'x' is neither a position nor a run like 3-7"
        );
    }
}
