//! The kmindex-server client against the project's own server on a loopback port: answers,
//! refusals, timeouts and connection reuse.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use app::model::query::Query;
use common::{fixture_index, records, spawn_kmindex_server};
use kmindex::Index;
use kmviz::provider::kmindex_server::{ClientError, KmindexServer};

const TIMEOUT: Duration = Duration::from_secs(10);

fn first_record() -> Query {
    records("abs_dataset", 2).remove(0)
}

#[tokio::test]
async fn reads_infos_and_answers_with_vectors() {
    let addr = spawn_kmindex_server().await;
    let server = KmindexServer::connect(&format!("http://{addr}"), TIMEOUT)
        .await
        .unwrap();
    let index = Index::open(&fixture_index()).unwrap();
    assert_eq!(server.infos().keys().collect::<Vec<_>>(), ["abs", "pa"]);
    assert_eq!(&server.infos()["abs"], index.get("abs").unwrap().entry());

    let query = first_record();
    let hits = server
        .query(&["pa".into(), "abs".into()], &query, 2, 0.0)
        .await
        .unwrap();
    for name in ["pa", "abs"] {
        let sub = index.get(name).unwrap();
        let result = &sub.query(&[query.seq.as_bytes()], 2, true).unwrap()[0];
        let answer = &hits[name];
        assert_eq!(answer.kmer_size, 27);
        assert_eq!(answer.samples.len(), 16, "r = 0 keeps every sample");
        for hit in &answer.samples {
            let column = sub.samples().iter().position(|s| s == &hit.sample).unwrap();
            assert_eq!(hit.kmer_ratio, result.ratios[column]);
            assert_eq!(hit.kmers, result.positions.as_ref().unwrap().kmers(column));
            let abundance = (name == "abs").then_some(result.counts[column]);
            assert_eq!(hit.mean_abundance, abundance);
        }
    }
    let d2 = hits["abs"]
        .samples
        .iter()
        .find(|h| h.sample == "D2")
        .unwrap();
    assert_eq!(d2.kmer_ratio, 1.0);
}

#[tokio::test]
async fn refusals_become_clear_errors() {
    let addr = spawn_kmindex_server().await;
    let server = KmindexServer::connect(&format!("http://{addr}/"), TIMEOUT)
        .await
        .unwrap();
    let short = Query {
        name: "short".into(),
        seq: "ACGTACGTACGTACGTACGTACGTAC".into(),
    };
    let err = server
        .query(&["pa".into()], &short, 3, 0.0)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Refused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "kmindex-server at http://{addr} refused the request: Sequence too small: 26, min size is 28."
        )
    );
    let err = server
        .query(&["nope".into()], &first_record(), 0, 0.0)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("kmindex-server at http://{addr} has no index 'nope' (it has: abs, pa)")
    );
}

#[tokio::test]
async fn an_unreachable_server_is_said_so() {
    // Bind then drop: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = KmindexServer::connect(&format!("http://127.0.0.1:{port}"), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot be reached"), "{err}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let err = KmindexServer::connect(&format!("http://{addr}"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A listener that counts the connections it accepts.
struct Counting {
    inner: tokio::net::TcpListener,
    accepted: Arc<AtomicUsize>,
}

impl axum::serve::Listener for Counting {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let accepted = self.inner.accept().await.unwrap();
        self.accepted.fetch_add(1, Ordering::SeqCst);
        accepted
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

#[tokio::test]
async fn reuses_its_connection() {
    let index = Index::open(&fixture_index()).unwrap();
    let router = kmviz::api::kmindex::router(Arc::new(index), Default::default());
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = inner.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let listener = Counting {
        inner,
        accepted: accepted.clone(),
    };
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let server = KmindexServer::connect(&format!("http://{addr}"), TIMEOUT)
        .await
        .unwrap();
    let query = first_record();
    for _ in 0..10 {
        server.query(&["pa".into()], &query, 1, 0.5).await.unwrap();
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "11 calls over one connection"
    );
}
