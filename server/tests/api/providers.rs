//! Remote providers: a kmindex-server that is down fails its pairs alone; one that answers
//! gives what the local index gives.

use serde_json::json;

use crate::common::{self, get_json};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_whose_server_is_down_fails_alone() {
    let port = closed_port();
    let (server, _dir) = instance("down", &remote_database("down", port));
    let (_, info) = get_json(&server.url("/api/info")).await;
    let down = info["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "down")
        .unwrap();
    assert_eq!(down["provider"], "kmindex-server");
    assert!(
        down["error"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{down}"
    );
    let (text, _) = fasta(3, 0);
    let (status, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": ["tsv", "down"]}),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let session = server
        .finished(submitted["session"].as_str().unwrap())
        .await;
    assert_eq!(session["status"], "done");
    for q in ["a0", "a1", "a2"] {
        assert_eq!(pair(&session, q, "tsv")["state"], "done");
        let failed = pair(&session, q, "down");
        assert_eq!(failed["state"], "failed");
        assert!(
            failed["error"]
                .as_str()
                .unwrap()
                .contains("cannot be reached"),
            "{failed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_kmindex_server_answers_like_the_local_index() {
    let remote = common::spawn_kmindex_server().await;
    let (server, _dir) = instance("remote", &remote_database("remote", remote.port()));
    let (text, _) = fasta(3, 1);
    let options = json!({"z": 2, "coverage": 0.3});
    let (status, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": [
            {"name": "tsv", "options": options},
            {"name": "remote", "options": options},
        ]}),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let session = server
        .finished(submitted["session"].as_str().unwrap())
        .await;
    for q in ["a0", "a1", "a2", "c0"] {
        let local = &pair(&session, q, "tsv")["result"];
        let remote = &pair(&session, q, "remote")["result"];
        assert_eq!(local["hits"], remote["hits"], "{q}");
        assert!(!local["hits"].as_array().unwrap().is_empty());
    }
}
