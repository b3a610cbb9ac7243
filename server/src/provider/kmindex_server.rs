//! A client of kmindex-server's HTTP API (kmindex's own server, or `kmviz index serve`):
//! `GET /kmindex/infos` and `POST /kmindex/query` with `json_vec` answers. One connection pool
//! per client, a timeout on every call, and kmindex-server's 400 bodies turned into errors that
//! say what the server refused.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::model::options::{OptionSpec, OptionValues};
use app::model::query::Query;
use app::model::results::{Kmers, QueryHits, SampleHit};
use serde::Deserialize;

use super::{
    IndexInfo, Provider, ProviderConfig, ProviderError, kmindex_options, kmindex_settings,
};
use crate::config::Invalid;
use crate::future::BoxFuture;
use crate::registry::{Context, Kind, Params};
use kmindex::registry::Entry;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kmindex-server at {url} did not answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("kmindex-server at {url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("kmindex-server at {url} refused the request: {message}")]
    Refused { url: String, message: String },
    #[error("kmindex-server at {url} answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("kmindex-server at {url} sent an answer kmviz cannot read: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("kmindex-server at {url} has no index '{name}' (it has: {known})")]
    UnknownIndex {
        url: String,
        name: String,
        known: String,
    },
}

/// A connected kmindex-server.
#[derive(Debug, Clone)]
pub struct KmindexServer {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
    infos: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Infos {
    index: BTreeMap<String, Entry>,
}

/// `{"R": ratio, "P": per-k-mer vector, "C": mean class}` for one sample.
#[derive(Deserialize)]
struct VecAnswer {
    #[serde(rename = "R")]
    ratio: f64,
    #[serde(rename = "P", default)]
    kmers: Vec<u32>,
    #[serde(rename = "C")]
    abundance: Option<u32>,
}

impl KmindexServer {
    /// Connects to the server at `url` (e.g. `http://127.0.0.1:8080`) and reads its indexes.
    pub async fn connect(url: &str, timeout: Duration) -> Result<KmindexServer, ClientError> {
        let base = url.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        let mut server = KmindexServer {
            base,
            http,
            timeout,
            infos: BTreeMap::new(),
        };
        server.infos = server.fetch_infos().await?;
        Ok(server)
    }

    /// The indexes the server had when connected.
    pub fn infos(&self) -> &BTreeMap<String, Entry> {
        &self.infos
    }

    /// Reads the server's indexes again.
    pub async fn fetch_infos(&self) -> Result<BTreeMap<String, Entry>, ClientError> {
        let response = self
            .http
            .get(format!("{}/kmindex/infos", self.base))
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let infos: Infos = self.read_json(response).await?;
        Ok(infos.index)
    }

    /// Queries `query` in each of `indexes` with findere's `z`, keeping samples whose ratio
    /// reaches `r`. Answers come per index, with the per-k-mer vectors.
    pub async fn query(
        &self,
        indexes: &[String],
        query: &Query,
        z: usize,
        r: f64,
    ) -> Result<BTreeMap<String, QueryHits>, ClientError> {
        for name in indexes {
            if !self.infos.contains_key(name) {
                return Err(ClientError::UnknownIndex {
                    url: self.base.clone(),
                    name: name.clone(),
                    known: self.infos.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            }
        }
        let payload = serde_json::json!({
            "index": indexes,
            "id": query.name,
            "seq": [query.seq],
            "z": z,
            "r": r,
            "format": "json_vec",
        });
        let response = self
            .http
            .post(format!("{}/kmindex/query", self.base))
            .json(&payload)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let answer: BTreeMap<String, BTreeMap<String, BTreeMap<String, VecAnswer>>> =
            self.read_json(response).await?;
        let mut hits = BTreeMap::new();
        for (index, mut by_query) in answer {
            let samples = by_query.remove(&query.name).ok_or_else(|| {
                self.bad(format!(
                    "no answer for query '{}' in index '{index}'",
                    query.name
                ))
            })?;
            let (smer_size, bw) = self
                .infos
                .get(&index)
                .map_or((0, 1), |e| (e.smer_size, e.bw));
            let samples = samples
                .into_iter()
                .map(|(sample, a)| SampleHit {
                    sample,
                    kmer_ratio: a.ratio,
                    mean_abundance: a.abundance,
                    kmers: Kmers::from_values(a.kmers),
                })
                .collect();
            hits.insert(
                index.clone(),
                QueryHits {
                    query: query.name.clone(),
                    index: index.clone(),
                    kmer_size: smer_size + z,
                    abundance: bw > 1,
                    samples,
                },
            );
        }
        Ok(hits)
    }

    async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        let status = response.status();
        let body = response.bytes().await.map_err(|e| self.transport(e))?;
        if status == reqwest::StatusCode::BAD_REQUEST {
            #[derive(Deserialize)]
            struct Refusal {
                error: String,
            }
            if let Ok(refusal) = serde_json::from_slice::<Refusal>(&body) {
                return Err(ClientError::Refused {
                    url: self.base.clone(),
                    message: strip_kmindex_tag(&refusal.error).to_owned(),
                });
            }
        }
        if !status.is_success() {
            return Err(ClientError::Status {
                url: self.base.clone(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| self.bad(e.to_string()))
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        if e.is_timeout() {
            ClientError::Timeout {
                url: self.base.clone(),
                timeout: self.timeout,
            }
        } else {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                reason = format!("{reason}: {cause}");
                source = cause.source();
            }
            ClientError::Unreachable {
                url: self.base.clone(),
                reason,
            }
        }
    }

    fn bad(&self, reason: String) -> ClientError {
        ClientError::BadAnswer {
            url: self.base.clone(),
            reason,
        }
    }
}

/// `type = "kmindex-server"`: a kmindex-server at `url` (`host`, `host:port` or a URL; `port`
/// apart, as kmviz 0.8 allows).
pub const KIND: Kind<dyn ProviderConfig> = Kind {
    names: &["kmindex-server"],
    read,
};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerParams {
    url: String,
    #[serde(default)]
    port: Option<u16>,
}

/// A kmindex-server as a database configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    /// `http://host:port`.
    pub url: String,
}

fn read(params: &Params) -> Result<Arc<dyn ProviderConfig>, Invalid> {
    let read: ServerParams = params.read()?;
    let url = if read.url.contains("://") {
        read.url
    } else {
        format!("http://{}", read.url)
    };
    let url = match read.port {
        Some(port) => format!("{}:{port}", url.trim_end_matches('/')),
        None => url,
    };
    Ok(Arc::new(Configured { url }))
}

impl ProviderConfig for Configured {
    /// A server that does not answer yet is not an error: its queries fail until it does.
    fn open<'a>(
        &'a self,
        context: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Provider>, ProviderError>> {
        Box::pin(async move {
            let remote = Arc::new(RemoteKmindex::new(self.url.clone(), context.timeout));
            // Connect in the background: a slow server must not hold up the start.
            let early = Arc::clone(&remote);
            tokio::spawn(async move {
                if let Err(e) = early.indexes().await {
                    tracing::warn!("{e}; will retry on use");
                }
            });
            Ok(remote as Arc<dyn Provider>)
        })
    }
}

/// The `kmindex-server` provider: connects on first use and again after failing, so that a
/// server down at start-up or later only fails the queries sent to it meanwhile.
#[derive(Debug)]
pub struct RemoteKmindex {
    url: String,
    timeout: Duration,
    server: RwLock<Option<Arc<KmindexServer>>>,
}

impl RemoteKmindex {
    pub fn new(url: String, timeout: Duration) -> RemoteKmindex {
        RemoteKmindex {
            url,
            timeout,
            server: RwLock::new(None),
        }
    }

    async fn connected(&self) -> Result<Arc<KmindexServer>, ProviderError> {
        if let Some(server) = self.server.read().expect("not poisoned").clone() {
            return Ok(server);
        }
        let server = Arc::new(
            KmindexServer::connect(&self.url, self.timeout)
                .await
                .map_err(|e| ProviderError(e.to_string()))?,
        );
        *self.server.write().expect("not poisoned") = Some(Arc::clone(&server));
        Ok(server)
    }

    fn forget_if_unreachable(&self, error: &ClientError) {
        if matches!(error, ClientError::Unreachable { .. }) {
            *self.server.write().expect("not poisoned") = None;
        }
    }
}

impl Provider for RemoteKmindex {
    fn kind(&self) -> &'static str {
        "kmindex-server"
    }

    fn indexes(&self) -> BoxFuture<'_, Result<Vec<IndexInfo>, ProviderError>> {
        Box::pin(async move {
            let server = self.connected().await?;
            Ok(server
                .infos()
                .iter()
                .map(|(name, entry)| super::index_info(name, entry, None))
                .collect())
        })
    }

    fn options(&self) -> Vec<OptionSpec> {
        let names: Vec<String> = match &*self.server.read().expect("not poisoned") {
            Some(server) => server.infos().keys().cloned().collect(),
            None => Vec::new(),
        };
        kmindex_options(&names)
    }

    fn query<'a>(
        &'a self,
        query: &'a Query,
        options: &'a OptionValues,
    ) -> BoxFuture<'a, Result<Vec<QueryHits>, ProviderError>> {
        Box::pin(async move {
            let server = self.connected().await?;
            let (z, coverage, mut names) = kmindex_settings(options);
            if names.is_empty() {
                names = server.infos().keys().cloned().collect();
            }
            match server.query(&names, query, z, coverage).await {
                Ok(hits) => Ok(hits.into_values().collect()),
                Err(error) => {
                    self.forget_if_unreachable(&error);
                    Err(ProviderError(error.to_string()))
                }
            }
        })
    }
}

/// kmindex prefixes its messages with a tag: `[kmq_error]: …`.
fn strip_kmindex_tag(message: &str) -> &str {
    match message.split_once("]: ") {
        Some((tag, rest)) if tag.starts_with("[kmq_") => rest,
        _ => message,
    }
}
