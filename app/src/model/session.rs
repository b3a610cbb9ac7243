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
    pub finished: usize,
    pub failed: usize,
}

impl Session {
    pub fn progress(&self) -> Progress {
        let count = |state| self.pairs.iter().filter(|p| p.state == state).count();
        let failed = count(PairState::Failed);
        Progress {
            total: self.pairs.len(),
            finished: count(PairState::Done) + failed + count(PairState::Cancelled),
            failed,
        }
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Session {
    /// Drops every hit's per-k-mer values (the default answer: the table and figures need only
    /// the coverage and metadata).
    pub fn without_vectors(mut self) -> Session {
        for result in self.pairs.iter_mut().filter_map(|p| p.result.as_mut()) {
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
}
