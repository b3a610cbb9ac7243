//! A session: the queries a user sent to some databases, how far the job got, and per
//! (query, database) the samples found joined to their metadata. The server stores it; the
//! browser reloads it by id.

use serde::{Deserialize, Serialize};

use super::options::OptionValues;
use super::query::Query;
use super::results::{Coverage, Kmers};

/// Where a session's job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Done,
    Cancelled,
    /// The server stopped while the job ran.
    Interrupted,
}

/// Where one (query, database) pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PairState {
    Pending,
    Done,
    Failed,
    Cancelled,
}

impl Status {
    /// Its name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Done => "done",
            Status::Cancelled => "cancelled",
            Status::Interrupted => "interrupted",
        }
    }
}

impl PairState {
    /// Its name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PairState::Pending => "pending",
            PairState::Done => "done",
            PairState::Failed => "failed",
            PairState::Cancelled => "cancelled",
        }
    }
}

/// A database chosen for a session and the option values it ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseRun {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub options: OptionValues,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: String,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub status: Status,
    /// Who made it (`user:NAME` or `token:ID`); none when the instance does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub queries: Vec<Query>,
    pub databases: Vec<DatabaseRun>,
    /// One per (query, database), queries outer, in request order.
    pub pairs: Vec<Pair>,
}

/// One (query, database) pair of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pair {
    pub query: String,
    pub database: String,
    pub state: PairState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<PairResult>,
}

/// Counts of pairs by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub total: usize,
    /// Pairs no longer pending: done, failed or cancelled.
    pub finished: usize,
    pub failed: usize,
    #[serde(default)]
    pub cancelled: usize,
}

impl Session {
    pub fn progress(&self) -> Progress {
        let count = |state| self.pairs.iter().filter(|p| p.state == state).count();
        let (failed, cancelled) = (count(PairState::Failed), count(PairState::Cancelled));
        Progress {
            total: self.pairs.len(),
            finished: count(PairState::Done) + failed + cancelled,
            failed,
            cancelled,
        }
    }
}

impl Progress {
    /// Pairs that ended with a result.
    pub fn done(&self) -> usize {
        self.finished - self.failed - self.cancelled
    }
}

/// A metadata column's name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnKind,
}

/// The types metadata values are brought to, whatever the MetaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Integer,
    Float,
    Text,
    Boolean,
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Value {
    Null,
    Boolean(bool),
    Integer(i64),
    Float(f64),
    Text(String),
}

/// Names of the latitude and longitude columns, when the metadata has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Geodata {
    pub latitude: String,
    pub longitude: String,
}

/// The samples a database found for a query, best first, joined to metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairResult {
    pub query_length: usize,
    /// The (sub-)indexes that answered.
    pub indexes: Vec<IndexAnswer>,
    /// Metadata columns, in the order of [`Hit::metadata`] (the id column is [`Hit::id`]).
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geodata: Option<Geodata>,
    pub hits: Vec<Hit>,
    /// Hits beyond the instance's per-result cap, not kept.
    pub not_shown: usize,
}

/// One (sub-)index that answered a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexAnswer {
    pub name: String,
    pub kmer_size: usize,
    pub abundance: bool,
}

/// One sample that holds (part of) the query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hit {
    /// The (sub-)index it was found in.
    pub index: String,
    #[serde(rename = "ID")]
    pub id: String,
    /// False when the MetaDB has no row for this sample (its metadata are then all null).
    pub has_metadata: bool,
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Per k-mer: 0/1 presence, or the abundance. Left out of the server's session answers
    /// unless asked for (`?vectors=true`, or one hit at its own route).
    #[serde(default, skip_serializing_if = "Kmers::is_empty")]
    pub kmers: Kmers,
    pub metadata: Vec<Value>,
}

/// Written by hand as the derive would with `flatten`, but as a struct of known length: a
/// flattened struct is written as a map of unknown length, which MessagePack buffers and copies
/// (the store writes every hit).
impl Serialize for Hit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let c = &self.coverage;
        let optional = [
            c.cov_yk.is_some(),
            c.cov_yb.is_some(),
            !self.kmers.is_empty(),
        ];
        let len = 6 + optional.iter().filter(|&&o| o).count();
        let mut hit = serializer.serialize_struct("Hit", len)?;
        hit.serialize_field("index", &self.index)?;
        hit.serialize_field("ID", &self.id)?;
        hit.serialize_field("has_metadata", &self.has_metadata)?;
        hit.serialize_field("CovXK", &c.cov_xk)?;
        hit.serialize_field("CovXB", &c.cov_xb)?;
        if let Some(v) = c.cov_yk {
            hit.serialize_field("CovYK", &v)?;
        }
        if let Some(v) = c.cov_yb {
            hit.serialize_field("CovYB", &v)?;
        }
        if !self.kmers.is_empty() {
            hit.serialize_field("kmers", &self.kmers)?;
        }
        hit.serialize_field("metadata", &self.metadata)?;
        hit.end()
    }
}

impl Session {
    /// Drops every hit's per-k-mer values (the default answer: the table and figures need only
    /// the coverage and metadata).
    pub fn without_vectors(mut self) -> Session {
        self.pairs = self.pairs.into_iter().map(Pair::without_vectors).collect();
        self
    }
}

impl Pair {
    /// Drops its hits' per-k-mer values (see [`Session::without_vectors`]).
    pub fn without_vectors(mut self) -> Pair {
        if let Some(result) = self.result.as_mut() {
            result
                .hits
                .iter_mut()
                .for_each(|h| h.kmers = Kmers::default());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_json_names() {
        use Status::*;
        for status in [Running, Done, Cancelled, Interrupted] {
            assert_eq!(serde_json::json!(status), status.as_str());
        }
        for state in [
            PairState::Pending,
            PairState::Done,
            PairState::Failed,
            PairState::Cancelled,
        ] {
            assert_eq!(serde_json::json!(state), state.as_str());
        }
    }

    #[test]
    fn values_keep_their_type_through_json() {
        let values = vec![
            Value::Null,
            Value::Boolean(true),
            Value::Integer(-3),
            Value::Float(2.5),
            Value::Float(1.0),
            Value::Text("x".into()),
        ];
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(json, r#"[null,true,-3,2.5,1.0,"x"]"#);
        assert_eq!(serde_json::from_str::<Vec<Value>>(&json).unwrap(), values);
    }

    #[test]
    fn progress_counts_what_ended_how() {
        let pair = |state| Pair {
            query: "q".into(),
            database: "d".into(),
            state,
            error: None,
            result: None,
        };
        let session = Session {
            pairs: [
                PairState::Done,
                PairState::Failed,
                PairState::Cancelled,
                PairState::Cancelled,
                PairState::Pending,
            ]
            .map(pair)
            .into(),
            id: "s".into(),
            created: 0,
            status: Status::Cancelled,
            owner: None,
            queries: Vec::new(),
            databases: Vec::new(),
        };
        let progress = session.progress();
        assert_eq!(
            progress,
            Progress {
                total: 5,
                finished: 4,
                failed: 1,
                cancelled: 2
            }
        );
        assert_eq!(progress.done(), 1);
    }

    #[test]
    fn hits_are_written_flat_and_read_back() {
        let presence = Hit {
            index: "pa".into(),
            id: "S1".into(),
            has_metadata: true,
            coverage: Coverage {
                cov_xk: 0.5,
                cov_xb: 0.75,
                cov_yk: None,
                cov_yb: None,
            },
            kmers: Kmers::default(),
            metadata: vec![Value::Float(1.5)],
        };
        assert_eq!(
            serde_json::to_string(&presence).unwrap(),
            r#"{"index":"pa","ID":"S1","has_metadata":true,"CovXK":0.5,"CovXB":0.75,"metadata":[1.5]}"#
        );
        let abundance = Hit {
            coverage: Coverage {
                cov_yk: Some(2.0),
                cov_yb: Some(1.5),
                ..presence.coverage.clone()
            },
            kmers: Kmers::from_values([0, 2, 2]),
            ..presence.clone()
        };
        assert_eq!(
            serde_json::to_string(&abundance).unwrap(),
            r#"{"index":"pa","ID":"S1","has_metadata":true,"CovXK":0.5,"CovXB":0.75,"CovYK":2.0,"CovYB":1.5,"kmers":[[0,1],[2,2]],"metadata":[1.5]}"#
        );
        for hit in [presence, abundance] {
            let json = serde_json::to_string(&hit).unwrap();
            assert_eq!(serde_json::from_str::<Hit>(&json).unwrap(), hit);
            let packed = rmp_serde::to_vec_named(&hit).unwrap();
            assert_eq!(rmp_serde::from_slice::<Hit>(&packed).unwrap(), hit);
        }
    }
}
