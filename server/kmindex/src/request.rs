//! kmindex-server's `POST /kmindex/query`: the request body, its checks in kmindex-server's
//! order and wording, and the answer text. Nothing here knows HTTP.
//!
//! Body: `index` (sub-index names), `id` (the query's name), `seq` (sequences, all one query)
//! or `fastx` (FASTA/FASTQ text, its records all one query), `z`, optional `r` (threshold,
//! default 0) and `format` (`json`, `json_vec` or `tsv`; default `json`).

use std::sync::atomic::AtomicBool;

use serde_json::Value;

use super::index::Index;
use super::json::Json;
use super::output::{self, Format};
use super::sub_index::{QueryError, SubIndex};
use super::{number, result::QueryResult};

/// A checked request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: String,
    pub indexes: Vec<String>,
    pub seqs: Vec<String>,
    pub z: usize,
    pub r: f64,
    pub format: Format,
}

/// A refused request; each becomes a 400 `{"error": …}` worded as kmindex-server words it.
/// kmindex-server tags every kind `[kmq_error]`: its exception base class formats the message
/// in its constructor, where the virtual `name()` is still the base one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// kmindex-server's `kmq_invalid_request`.
    #[error("[kmq_error]: {0}")]
    Invalid(String),
    /// kmindex-server's `kmq_invalid_index`.
    #[error("[kmq_error]: '{0}' is not registered by this instance")]
    UnknownIndex(String),
    /// The client left, or the server stops: the lookups were given up.
    #[error("[kmq_error]: the query was stopped")]
    Stopped,
    /// Any body nlohmann::json cannot parse or convert.
    #[error("json parsing failure, check your inputs")]
    Json,
}

impl RequestError {
    /// The response body: `{"error":"…"}`.
    pub fn body(&self) -> String {
        let mut body = Json::object();
        *body.entry("error") = Json::Str(self.to_string());
        body.compact()
    }
}

fn invalid(message: impl Into<String>) -> RequestError {
    RequestError::Invalid(message.into())
}

impl Request {
    /// Parses and checks a request body: kmindex-server's checks in its order, which is what
    /// its clients see (so one function, read top to bottom).
    pub fn parse(body: &[u8]) -> Result<Request, RequestError> {
        let data: Value = serde_json::from_slice(body).map_err(|_| RequestError::Json)?;
        let has = |key: &str| data.get(key).is_some();
        if !has("index") {
            return Err(invalid("'index' entry is missing."));
        }
        if !has("id") {
            return Err(invalid("'id' entry is missing."));
        }
        if !has("seq") && !has("fastx") {
            return Err(invalid("'seq' or 'fastx' should be specified."));
        }
        if has("seq") && has("fastx") {
            return Err(invalid("'seq' and 'fastx' are mutually exclusive."));
        }
        if !has("z") {
            return Err(invalid("'z' entry is missing."));
        }
        let format = match data.get("format") {
            None => Format::Json,
            Some(Value::String(f)) if f == "json" => Format::Json,
            Some(Value::String(f)) if f == "json_vec" => Format::JsonVec,
            Some(Value::String(f)) if f == "tsv" => Format::Tsv,
            Some(other) => {
                return Err(invalid(format!(
                    "'format':'{}' not supported, should be 'json' or 'tsv'.",
                    Json::from(other.clone()).compact()
                )));
            }
        };
        let r = match data.get("r") {
            None => 0.0,
            Some(Value::Number(n)) => {
                let r = n.as_f64().unwrap_or(f64::NAN);
                if !(0.0..=1.0).contains(&r) {
                    return Err(invalid(format!(
                        "'r': {}, should be in [0.0, 1.0]",
                        number::fmt(r)
                    )));
                }
                r
            }
            Some(_) => return Err(invalid("'r' should be a float in [0.0, 1.0]")),
        };
        let id = data["id"].as_str().ok_or(RequestError::Json)?.to_owned();
        let indexes = strings(&data["index"])?;
        // Each name is looked up once per request: a repeated one is work for nothing.
        if let Some((_, name)) = indexes
            .iter()
            .enumerate()
            .find(|(i, name)| indexes[..*i].contains(name))
        {
            return Err(invalid(format!("'index' names '{name}' more than once.")));
        }
        let seqs = match data.get("fastx") {
            Some(fastx) => {
                let text = fastx.as_str().ok_or(RequestError::Json)?;
                match app::model::query::read_fastx(text.as_bytes()) {
                    Ok(records) => records.into_iter().map(|q| q.seq).collect(),
                    Err(app::model::query::InputError::Empty) => Vec::new(),
                    Err(e) => return Err(invalid(format!("'fastx': {e}"))),
                }
            }
            None => strings(&data["seq"])?,
        };
        let z = match &data["z"] {
            Value::Bool(b) => usize::from(*b),
            Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(z), _) => z as usize,
                (None, Some(z)) if z >= 0.0 => z as usize,
                _ => return Err(invalid("'z' should be a non-negative integer.")),
            },
            _ => return Err(RequestError::Json),
        };
        Ok(Request {
            id,
            indexes,
            seqs,
            z,
            r,
            format,
        })
    }

    /// Answers the request; the text starts with `{` for JSON answers. Given up once `stop`
    /// is set.
    pub fn answer(&self, index: &Index, stop: &AtomicBool) -> Result<String, RequestError> {
        let seqs: Vec<&[u8]> = self.seqs.iter().map(|s| s.as_bytes()).collect();
        if self.format == Format::Tsv {
            let mut out = String::new();
            for name in &self.indexes {
                let sub = self.sub_index(index, name)?;
                let results = self.solve(sub, &seqs, stop)?;
                out.push_str(&output::merged_tsv(sub, &self.id, &results));
                out.push('\n');
            }
            return Ok(out);
        }
        // kmindex-server merges per-index documents into a null that becomes an object.
        let mut doc = Json::Null;
        for name in &self.indexes {
            let sub = self.sub_index(index, name)?;
            let results = self.solve(sub, &seqs, stop)?;
            *doc.entry(name).entry(&self.id) =
                output::merged_samples(sub, &results, self.format, self.r);
        }
        Ok(doc.pretty())
    }

    fn sub_index<'a>(&self, index: &'a Index, name: &str) -> Result<&'a SubIndex, RequestError> {
        index
            .get(name)
            .ok_or_else(|| RequestError::UnknownIndex(name.to_owned()))
    }

    fn solve(
        &self,
        sub: &SubIndex,
        seqs: &[&[u8]],
        stop: &AtomicBool,
    ) -> Result<Vec<QueryResult>, RequestError> {
        let min = sub.smer_size().saturating_add(self.z);
        if let Some(seq) = seqs.iter().find(|s| s.len() < min) {
            return Err(invalid(format!(
                "Sequence too small: {}, min size is {min}.",
                seq.len()
            )));
        }
        match sub.query_until(seqs, self.z, self.format.needs_positions(), stop) {
            Ok(results) => Ok(results),
            Err(QueryError::Stopped) => Err(RequestError::Stopped),
            Err(e) => Err(invalid(e.to_string())),
        }
    }
}

/// The strings of a JSON value as nlohmann iterates it: an array's items, an object's values,
/// a lone value itself, nothing for null. Anything but strings is a conversion failure.
fn strings(value: &Value) -> Result<Vec<String>, RequestError> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        Value::Object(members) => {
            let mut members: Vec<_> = members.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            members.into_iter().map(|(_, v)| v).collect()
        }
        other => vec![other],
    };
    items
        .into_iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or(RequestError::Json))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Request, RequestError> {
        Request::parse(body.as_bytes())
    }

    #[test]
    fn checks_come_in_kmindex_servers_order_and_words() {
        let cases = [
            (
                "nope",
                r#"{"error":"json parsing failure, check your inputs"}"#,
            ),
            (
                "{}",
                r#"{"error":"[kmq_error]: 'index' entry is missing."}"#,
            ),
            (
                r#"{"index":["pa"]}"#,
                r#"{"error":"[kmq_error]: 'id' entry is missing."}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q"}"#,
                r#"{"error":"[kmq_error]: 'seq' or 'fastx' should be specified."}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q","seq":[],"fastx":""}"#,
                r#"{"error":"[kmq_error]: 'seq' and 'fastx' are mutually exclusive."}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q","seq":["ACGT"]}"#,
                r#"{"error":"[kmq_error]: 'z' entry is missing."}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q","seq":["ACGT"],"z":0,"format":"xml"}"#,
                r#"{"error":"[kmq_error]: 'format':'\"xml\"' not supported, should be 'json' or 'tsv'."}"#,
            ),
            (
                r#"{"index":["pa","abs","pa"],"id":"q","seq":["ACGT"],"z":0}"#,
                r#"{"error":"[kmq_error]: 'index' names 'pa' more than once."}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q","seq":["ACGT"],"z":0,"r":"x"}"#,
                r#"{"error":"[kmq_error]: 'r' should be a float in [0.0, 1.0]"}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q","seq":["ACGT"],"z":0,"r":1.5}"#,
                r#"{"error":"[kmq_error]: 'r': 1.5, should be in [0.0, 1.0]"}"#,
            ),
            (
                r#"{"index":["pa"],"id":7,"seq":["ACGT"],"z":0}"#,
                r#"{"error":"json parsing failure, check your inputs"}"#,
            ),
            (
                r#"{"index":["pa"],"id":"q","seq":["ACGT"],"z":"3"}"#,
                r#"{"error":"json parsing failure, check your inputs"}"#,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body).unwrap_err().body(), want, "{body}");
        }
    }

    #[test]
    fn lone_values_count_as_one_item_like_nlohmanns_iteration() {
        let request = parse(r#"{"index":"pa","id":"q","seq":"ACGT","z":true}"#).unwrap();
        assert_eq!(request.indexes, ["pa"]);
        assert_eq!(request.seqs, ["ACGT"]);
        assert_eq!(request.z, 1);
        assert_eq!(request.format, Format::Json);
        let request = parse(r#"{"index":["a","b"],"id":"q","fastx":">x\nAC\n>y\nGT\n","z":2.7,"format":"json_vec","r":1}"#).unwrap();
        assert_eq!(request.seqs, ["AC", "GT"]);
        assert_eq!(request.z, 2);
        assert_eq!(request.r, 1.0);
    }
}
