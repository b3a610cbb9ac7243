//! Several replicas on one PostgreSQL store, against a real PostgreSQL cluster the tests start:
//! the store does what the SQLite store does; its queue gives each pair to one replica at a
//! time and takes back the pairs of a replica that stopped renewing its leases; and three
//! real `kmviz serve` processes share sessions, events and jobs, one of them killed mid-job.

mod common;

use std::sync::Arc;
use std::time::Duration;

use app::model::query::Query;
use app::model::session::{DatabaseRun, Pair, PairState, Session, Status};
use common::postgres::postgres;
use common::{Server, SlowKmindex, get_json, records};
use kmviz::session::{Change, Finished, Opened, PgStore, Place, Queue, SessionStore, SqliteStore};
use kmviz::token::Token;
use serde_json::{Value, json};

fn session(id: &str, created: u64, status: Status, owner: Option<&str>, pairs: usize) -> Session {
    let queries: Vec<Query> = (0..pairs)
        .map(|i| Query {
            name: format!("q{i}"),
            seq: "ACGTACGTACGTACGTACGTACGTACGTACGT".into(),
        })
        .collect();
    Session {
        id: id.into(),
        created,
        status,
        owner: owner.map(Into::into),
        pairs: queries
            .iter()
            .map(|q| Pair {
                query: q.name.clone(),
                database: "db".into(),
                state: PairState::Pending,
                error: None,
                result: None,
            })
            .collect(),
        queries,
        databases: vec![DatabaseRun {
            name: "db".into(),
            options: Default::default(),
        }],
    }
}

/// What every session store does, as the API relies on it.
async fn keeps_sessions(store: &dyn SessionStore) {
    let now = kmviz::jobs::now();
    let mut running = session("s-running", now, Status::Running, Some("user:ann"), 2);
    store
        .create(&running, Some("ann@example.org".into()))
        .await
        .unwrap();
    assert_eq!(
        store.load("s-running").await.unwrap().as_ref(),
        Some(&running)
    );
    assert_eq!(store.load("s-unknown").await.unwrap(), None);

    let mut done = running.pairs[1].clone();
    done.state = PairState::Failed;
    done.error = Some("no such index".into());
    store
        .save_pair("s-running", 1, Arc::new(done.clone()))
        .await
        .unwrap();
    store.set_status("s-running", Status::Done).await.unwrap();
    running.pairs[1] = done;
    running.status = Status::Done;
    assert_eq!(
        store.load("s-running").await.unwrap().as_ref(),
        Some(&running)
    );

    // Owners list their sessions, newest first.
    let older = session("s-older", now - 10, Status::Done, Some("user:ann"), 1);
    store.create(&older, None).await.unwrap();
    let bob = session("s-bob", now, Status::Done, Some("user:bob"), 1);
    store.create(&bob, None).await.unwrap();
    let listed = store.sessions_of("user:ann".into(), 10).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s-running", "s-older"]);
    assert_eq!(listed[0].queries, 2);
    assert_eq!(listed[0].databases, ["db"]);
    assert_eq!(listed[0].status, Status::Done);
    assert_eq!(
        store.sessions_of("user:ann".into(), 1).await.unwrap().len(),
        1
    );

    // Deleting takes the pairs with it.
    assert!(store.delete("s-bob".into()).await.unwrap());
    assert!(!store.delete("s-bob".into()).await.unwrap());
    assert_eq!(store.load("s-bob").await.unwrap(), None);

    // Tokens: kept by hash, listed oldest first, revoked.
    let (_, first) = Token::mint("first", 100);
    let (_, second) = Token::mint("second", 200);
    store.add_token(second.clone()).await.unwrap();
    store.add_token(first.clone()).await.unwrap();
    assert_eq!(
        store.token(first.id.clone()).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.tokens().await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert!(store.revoke_token(first.id.clone()).await.unwrap());
    assert!(!store.revoke_token(first.id.clone()).await.unwrap());
    assert_eq!(store.token(first.id).await.unwrap(), None);

    // Purges what was made before the cut, and nothing else.
    let old = session("s-old", 1_000, Status::Done, None, 1);
    store.create(&old, None).await.unwrap();
    assert_eq!(store.purge(2_000).await.unwrap(), 1);
    assert_eq!(store.load("s-old").await.unwrap(), None);
    assert!(store.load("s-older").await.unwrap().is_some());

    store.writable().await.unwrap();
    assert!(store.bytes().await.unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_keep_sessions_alike() {
    let dir = common::scratch("stores-sqlite");
    keeps_sessions(&SqliteStore::open(&dir).unwrap()).await;

    let url = postgres().database("stores");
    let place = Place::Postgres {
        url: url.clone(),
        lease: Duration::from_secs(30),
    };
    let Opened::Shared(store) = place.open().await.unwrap() else {
        panic!("a PostgreSQL store")
    };
    keeps_sessions(&store).await;
    // Another replica opening it later finds the schema made: it migrates nothing.
    let again = PgStore::open(&url, Duration::from_secs(30)).await.unwrap();
    assert!(again.load("s-older").await.unwrap().is_some());
    // A purge by one replica makes the others' skip (it runs once across replicas).
    let old = session("s-old-2", 1_000, Status::Done, None, 1);
    store.create(&old, None).await.unwrap();
    assert_eq!(again.purge(2_000).await.unwrap(), 0);
    assert!(store.load("s-old-2").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_store_addresses_are_named() {
    let place = Place::Postgres {
        url: format!(
            "postgres://postgres@127.0.0.1:{}/db",
            common::postgres::free_port()
        ),
        lease: Duration::from_secs(30),
    };
    let error = place.open().await.unwrap_err().to_string();
    assert!(error.contains("postgres at 127.0.0.1/db"), "{error}");
}

/// Pair `position`'s outcome, done.
fn done(session: &Session, position: usize) -> Arc<Pair> {
    let mut pair = session.pairs[position].clone();
    pair.state = PairState::Done;
    Arc::new(pair)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_gives_each_pair_to_one_replica_and_takes_back_expired_leases() {
    let url = postgres().database("queue");
    let lease = Duration::from_millis(1500);
    let a = PgStore::open(&url, lease).await.unwrap();
    let b = PgStore::open(&url, lease).await.unwrap();
    let mut news = b.changes();
    assert_eq!(a.claim(1).await.unwrap().first().map(|c| c.position), None);

    let job = session("job", kmviz::jobs::now(), Status::Running, None, 3);
    a.create(&job, Some("ann@example.org".into()))
        .await
        .unwrap();
    assert_eq!(
        news.recv().await.unwrap(),
        Change::Work,
        "B hears of A's job"
    );
    let a0 = a.claim(1).await.unwrap().pop().unwrap();
    let b1 = b.claim(1).await.unwrap().pop().unwrap();
    let a2 = a.claim(1).await.unwrap().pop().unwrap();
    assert_eq!((a0.position, b1.position, a2.position), (0, 1, 2));
    assert_eq!(a0.query, job.queries[0]);
    assert_eq!(a2.run, job.databases[0]);
    assert_eq!(a0.notify.as_deref(), Some("ann@example.org"));
    assert!(b.claim(1).await.unwrap().is_empty(), "every pair is held");

    assert_eq!(a.finish(&a0, done(&job, 0)).await.unwrap(), Finished::Saved);
    assert_eq!(
        news.recv().await.unwrap(),
        Change::Pair {
            id: "job".into(),
            position: 0
        }
    );
    // B renews its lease; A stops renewing (as if it died).
    tokio::time::sleep(lease * 2 / 3).await;
    b.renew().await.unwrap();
    tokio::time::sleep(lease * 2 / 3).await;
    let taken = b.claim(1).await.unwrap().pop().expect("A's expired claim");
    assert_eq!(taken.position, 2);
    assert!(
        b.claim(1).await.unwrap().is_empty(),
        "B's own renewed claim holds"
    );
    // A's late outcome is dropped: the pair is B's now.
    assert_eq!(a.finish(&a2, done(&job, 2)).await.unwrap(), Finished::Lost);
    assert_eq!(b.finish(&b1, done(&job, 1)).await.unwrap(), Finished::Saved);
    assert_eq!(
        b.finish(&taken, done(&job, 2)).await.unwrap(),
        Finished::Ended
    );
    let ended = a.load("job").await.unwrap().unwrap();
    assert_eq!(ended.status, Status::Done);
    assert!(ended.pairs.iter().all(|p| p.state == PairState::Done));
    assert_eq!(
        a.pair("job".into(), 2).await.unwrap(),
        Some((*done(&job, 2)).clone())
    );

    // Cancelled: pending and held pairs are cancelled; a held pair's outcome is dropped.
    let job = session("cancelled", kmviz::jobs::now(), Status::Running, None, 2);
    a.create(&job, None).await.unwrap();
    let held = a.claim(1).await.unwrap().pop().unwrap();
    assert!(b.cancel("cancelled".into()).await.unwrap());
    assert!(!b.cancel("cancelled".into()).await.unwrap());
    assert_eq!(
        a.finish(&held, done(&job, 0)).await.unwrap(),
        Finished::Lost
    );
    let cancelled = a.load("cancelled").await.unwrap().unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    assert!(
        cancelled
            .pairs
            .iter()
            .all(|p| p.state == PairState::Cancelled)
    );
    assert!(a.claim(1).await.unwrap().is_empty());

    // Released (a stop): the pair is claimed again at once.
    let job = session("released", kmviz::jobs::now(), Status::Running, None, 1);
    a.create(&job, None).await.unwrap();
    let held = a.claim(1).await.unwrap().pop().unwrap();
    assert_eq!(a.release().await.unwrap(), 1);
    let again = b.claim(1).await.unwrap().pop().unwrap();
    assert_eq!((again.session.as_str(), again.position), ("released", 0));
    assert_eq!(
        a.finish(&held, done(&job, 0)).await.unwrap(),
        Finished::Lost
    );
    assert_eq!(
        b.finish(&again, done(&job, 0)).await.unwrap(),
        Finished::Ended
    );
    // Claims in a batch, as many as asked at most, in queue order.
    let job = session("batch", kmviz::jobs::now(), Status::Running, None, 3);
    a.create(&job, None).await.unwrap();
    let batch = b.claim(5).await.unwrap();
    let positions: Vec<usize> = batch.iter().map(|c| c.position).collect();
    assert_eq!(positions, [0, 1, 2]);
    assert!(a.claim(5).await.unwrap().is_empty());

    let statuses = a
        .statuses(vec![
            "released".into(),
            "cancelled".into(),
            "nothing".into(),
        ])
        .await
        .unwrap();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&("released".into(), Status::Done)));
}

/// `kmviz.toml` for a replica: database `slow` behind `slow`'s kmindex-server, sessions in
/// PostgreSQL at `url`, claims held `lease` seconds, two pairs at once.
fn replica_config(dir: &std::path::Path, slow: u16, url: &str, lease: u64) -> std::path::PathBuf {
    std::fs::write(dir.join("meta.tsv"), "Sample\tSite\nD0\tsite0\n").unwrap();
    let config = format!(
        "[databases.slow]\ntype = \"kmindex-server\"\n\
         params = {{ url = \"127.0.0.1\", port = {slow} }}\n\
         metadata = {{ type = \"tsv\", params = {{ path = \"{}\", idx = \"Sample\" }} }}\n\
         [engine]\nconcurrency = 2\n\
         [server]\nshutdown_grace = 1\n\
         [sessions]\ndata_dir = \"{}\"\nurl = \"{url}\"\nlease = {lease}\n",
        dir.join("meta.tsv").display(),
        dir.join("data").display(),
    );
    let path = dir.join("kmviz.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `count` queries, each the first fixture query under its own name.
fn queries(count: usize) -> String {
    let record = &records("pa_dataset", 1)[0];
    (0..count)
        .map(|i| format!(">q{i}\n{}\n", record.seq))
        .collect()
}

async fn submit(server: &Server, fastx: String) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/api/query"))
        .json(&json!({"fastx": fastx, "databases": ["slow"]}))
        .send()
        .await
        .unwrap();
    let (status, body) = common::openapi::read("POST", response).await;
    assert_eq!(status, 202, "{body}");
    body["session"].as_str().unwrap().to_owned()
}

/// The events of session `id` from `server`, until its stream ends.
async fn events(base: String, id: String) -> Vec<Value> {
    let response = reqwest::get(format!("{base}/api/sessions/{id}/events"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The whole stream: it ends with the job.
    let text = response.text().await.unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_sessions_and_finish_a_killed_replicas_pairs() {
    let dir = common::scratch("replicas");
    let slow = SlowKmindex::start(Duration::from_secs(2)).await;
    let url = postgres().database("replicas");
    // Leases of 2 s: a 2 s query outlives its first lease, so live replicas must renew.
    let config = replica_config(&dir, slow.port, &url, 2);
    let a = Server::process(&config);
    let b = Server::process(&config);
    let c = Server::process(&config);

    // A token made once (the CLI, on the shared store) opens every replica.
    let (made, token, error) = common::kmviz(&[
        "token",
        "create",
        "bot",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(made, "{error}");
    let token = String::from_utf8(token).unwrap().trim().to_owned();
    for replica in [&a, &b, &c] {
        let listed = reqwest::Client::new()
            .get(replica.url("/api/sessions"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 200);
    }

    let id = submit(&a, queries(12)).await;
    // Read and watched from B while A and the others run it.
    let watched = tokio::spawn(events(b.base.clone(), id.clone()));
    let (status, from_b) = get_json(&b.url(&format!("/api/sessions/{id}"))).await;
    assert_eq!(status, 200, "{from_b}");
    assert_eq!(from_b["status"], "running");
    assert_eq!(from_b["pairs"].as_array().unwrap().len(), 12);

    // A dies with pairs under way (its two slots are busy from the start: it heard of the
    // job first).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    drop(a);

    let ended = c.finished(&id).await;
    assert_eq!(ended["status"], "done", "{ended}");
    for pair in ended["pairs"].as_array().unwrap() {
        assert_eq!(pair["state"], "done", "{pair}");
        assert!(
            !pair["result"]["hits"].as_array().unwrap().is_empty(),
            "{pair}"
        );
    }
    let (_, from_b) = get_json(&b.url(&format!("/api/sessions/{id}"))).await;
    assert_eq!(from_b, ended, "every replica answers the same session");

    // No pair lost or done twice: every query answered once; those A held when it died
    // were asked again, by B or C.
    let counts = slow.counts.lock().unwrap().clone();
    assert_eq!(counts.len(), 12, "{counts:?}");
    assert!(
        counts.values().all(|&(_, answered)| answered == 1),
        "{counts:?}"
    );
    let asked_again = counts.values().map(|c| c.0).sum::<usize>() - 12;
    assert!(
        (1..=2).contains(&asked_again),
        "the pairs A held when it died (at most its 2 slots) were run again: {counts:?}"
    );

    // B's watchers saw the job through to its end.
    let events = tokio::time::timeout(Duration::from_secs(30), watched)
        .await
        .expect("B's event stream ends with the job")
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["status"], "done", "{events:?}");
    let changed: usize = events
        .iter()
        .map(|e| e["pairs"].as_array().unwrap().len())
        .sum();
    assert!(changed > 12, "progress came in several events: {events:?}");

    // A stop gives the pairs back: C takes over what B was running. Six pairs: more than C's
    // two slots, so B holds some when it stops.
    let mut b = b;
    let id = submit(&b, queries(6)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (stopped, after) = b.terminate();
    assert!(stopped && after < Duration::from_secs(6), "{after:?}");
    assert!(b.logs("pairs given back to the queue by the stop"));
    let ended = c.finished(&id).await;
    assert_eq!(ended["status"], "done", "{ended}");
    assert!(
        ended["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "done")
    );
}
