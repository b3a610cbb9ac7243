//! A kmviz provider plugin: the indexes of a kmindex-server, queried over `wasi:http`.
//!
//! Database parameters: `{"url": "http://host:port"}`. The operator must grant the plugin that
//! host (`allow_http = ["host:port"]`); nothing else is reachable.

mod http;

use serde::Deserialize;
use serde_json::json;

wit_bindgen::generate!({
    path: "../../plugins-wit",
    world: "provider-plugin",
});

use exports::kmviz::plugin::provider::{Description, Guest, Hit, Query, SubIndex};
use kmviz::plugin::types::{Bounds, OptionKind, OptionSpec, OptionValue};

struct KmindexHttp;

#[derive(Deserialize)]
struct Params {
    url: String,
}

/// What kmindex-server says of one index (`GET /kmindex/infos`).
#[derive(Deserialize)]
struct IndexInfo {
    smer_size: u32,
    samples: Vec<String>,
    #[serde(default = "one")]
    bw: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct Infos {
    index: std::collections::BTreeMap<String, IndexInfo>,
}

/// One sample's answer in `json_vec` format.
#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "R")]
    ratio: f64,
    #[serde(rename = "P", default)]
    positions: Vec<u32>,
    #[serde(rename = "C")]
    abundance: Option<f64>,
}

fn params(text: &str) -> Result<Params, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("params: {e} (expected {{\"url\": \"http://host:port\"}})"))
}

fn infos(url: &str) -> Result<Infos, String> {
    let body = http::request("GET", &format!("{url}/kmindex/infos"), None)?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}/kmindex/infos: {e}"))
}

fn number(query: &Query, name: &str, default: f64) -> f64 {
    query
        .options
        .iter()
        .find(|o| o.name == name)
        .and_then(|o| match &o.value {
            OptionValue::Number(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(default)
}

impl Guest for KmindexHttp {
    fn describe(params: String) -> Result<Description, String> {
        let url = self::params(&params)?.url;
        let infos = infos(&url)?;
        let range = |min, max, step| OptionKind::Range(Bounds { min, max, step });
        Ok(Description {
            name: "kmindex-http".into(),
            indexes: infos
                .index
                .into_iter()
                .map(|(name, info)| SubIndex {
                    name,
                    kmer_size: info.smer_size,
                    samples: info.samples,
                    abundance: info.bw > 1,
                })
                .collect(),
            options: vec![
                OptionSpec {
                    name: "z".into(),
                    help: "findere's z: k-mers of s + z letters".into(),
                    kind: range(0.0, 5.0, 1.0),
                    default: OptionValue::Number(3.0),
                    required: false,
                },
                OptionSpec {
                    name: "coverage".into(),
                    help: "the least fraction of k-mers a sample must hold".into(),
                    kind: range(0.0, 1.0, 0.05),
                    default: OptionValue::Number(0.1),
                    required: false,
                },
            ],
        })
    }

    fn search(params: String, query: Query) -> Result<Vec<Hit>, String> {
        let url = self::params(&params)?.url;
        let indexes = infos(&url)?.index;
        let z = number(&query, "z", 3.0) as u32;
        let payload = json!({
            "index": indexes.keys().collect::<Vec<_>>(),
            "id": query.id,
            "seq": [query.sequence],
            "z": z,
            "r": number(&query, "coverage", 0.1),
            "format": "json_vec",
        });
        let body = http::request(
            "POST",
            &format!("{url}/kmindex/query"),
            Some(payload.to_string()),
        )?;
        type ByIndex = std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, std::collections::BTreeMap<String, Answer>>,
        >;
        let answer: ByIndex =
            serde_json::from_slice(&body).map_err(|e| format!("{url}/kmindex/query: {e}"))?;
        let mut hits = Vec::new();
        for (index, mut by_query) in answer {
            let smer = indexes.get(&index).map_or(0, |i| i.smer_size);
            for (sample, a) in by_query.remove(&query.id).unwrap_or_default() {
                hits.push(Hit {
                    index: index.clone(),
                    sample,
                    ratio: a.ratio,
                    abundance: a.abundance,
                    kmer_size: if a.positions.is_empty() { 0 } else { smer + z },
                    positions: a.positions,
                });
            }
        }
        Ok(hits)
    }
}

export!(KmindexHttp);
