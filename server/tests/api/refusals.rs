//! Refusals: every bad request names what is wrong, with one status per fault; basic
//! authentication guards everything when configured.

use app::model::query::{InputLimits, parse_queries};
use serde_json::{Value, json};

use crate::common::{self, contract, get_json, records};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_names_what_is_wrong() {
    let extra = "\n[input]\nmax_query = 2\nmax_query_size = 150\n[api]\nmax_body_size = 4096\n";
    let (server, _dir) = instance("errors", extra);
    let seq = &records("pa_dataset", 1)[0].seq;
    let refused = |status: u16, body: &Value, message: &str| {
        assert_eq!(body["error"].as_str(), Some(message), "{body}");
        assert_eq!(status, 400, "{body}");
    };
    // An unknown database is not found, wherever the request names it.
    let not_found = |status: u16, body: &Value| {
        let message = "unknown database 'nope'; known: mariadb, parquet, sqlite, tsv";
        assert_eq!(body["error"].as_str(), Some(message), "{body}");
        assert_eq!(status, 404, "{body}");
    };

    let three = format!(">a\n{seq}\n>b\n{seq}\n>c\n{seq}\n");
    let limits = InputLimits {
        max_query: 2,
        max_query_size: 150,
        ..InputLimits::default()
    };
    let reason = parse_queries(three.as_bytes(), &limits)
        .unwrap_err()
        .to_string();
    let (status, body) = submit(&server, json!({"fastx": three, "databases": ["tsv"]})).await;
    refused(status, &body, &reason);

    let long = format!(">long\n{}\n", "ACGT".repeat(40));
    let reason = parse_queries(long.as_bytes(), &limits)
        .unwrap_err()
        .to_string();
    let (status, body) = submit(&server, json!({"fastx": long, "databases": ["tsv"]})).await;
    refused(status, &body, &reason);

    let one = format!(">a\n{seq}\n");
    let (status, body) = submit(&server, json!({"fastx": one, "databases": ["tsv", "nope"]})).await;
    not_found(status, &body);
    let (status, body) = submit(
        &server,
        json!({"fastx": one, "databases": [{"name": "tsv", "options": {"k": 3}}]}),
    )
    .await;
    refused(
        status,
        &body,
        "database 'tsv': unknown option 'k'; known options: z, coverage, index",
    );
    let (status, body) = submit(
        &server,
        json!({"fastx": one, "databases": [{"name": "tsv", "options": {"z": 7}}]}),
    )
    .await;
    refused(
        status,
        &body,
        "database 'tsv': option 'z' is 7, outside [0, 5]",
    );
    let (status, body) = submit(
        &server,
        json!({"fastx": one, "databases": [{"name": "tsv", "options": {"index": ["pa", "zz"]}}]}),
    )
    .await;
    refused(
        status,
        &body,
        "database 'tsv': option 'index' is 'zz'; choose one of [\"abs\", \"pa\"]",
    );
    let (status, body) = submit(&server, json!({"fastx": one, "databases": []})).await;
    refused(status, &body, "no database chosen");
    let (status, body) = submit(&server, json!({"fastx": one, "databases": ["tsv", "tsv"]})).await;
    refused(status, &body, "database 'tsv' is chosen twice");
    let (status, body) = submit(&server, json!({"fasta": one, "databases": ["tsv"]})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `fasta`"),
        "{body}"
    );

    // Letters outside ACGTN are accepted under alphabet `all`, and said.
    let protein = format!(">p\n{}M\n", "MKVLATGGLLAAC".repeat(3));
    let (status, body) = submit(&server, json!({"fastx": protein, "databases": ["tsv"]})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["warnings"],
        json!([
            "query 'p': 19 of 40 letters are not A, C, G, T or N; k-mers holding them are never found"
        ])
    );
    // So are queries shorter than the k-mers (s + z) of the options chosen.
    let short = ">s\nACGTACGTACGTACGTACGTACGTAC\n";
    let chosen =
        |z: u32| json!({"fastx": short, "databases": [{"name": "tsv", "options": {"z": z}}]});
    let (status, body) = submit(&server, chosen(2)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["warnings"],
        json!([
            "query 's': 26 letters, shorter than the k-mers of tsv (27); nothing can be found there"
        ])
    );
    let (_, body) = submit(&server, chosen(1)).await;
    assert!(body.get("warnings").is_none(), "{body}");
    let (_, clean) = submit(&server, json!({"fastx": one, "databases": ["tsv"]})).await;
    assert!(clean.get("warnings").is_none(), "{clean}");

    // Too large a body: 413, whatever its form.
    let big = ">a\n".to_owned() + &"A".repeat(8000);
    let (status, _) = submit(&server, json!({"fastx": big, "databases": ["tsv"]})).await;
    assert_eq!(status, 413);
    let form = new_form()
        .text("database", "tsv")
        .part("fastx", reqwest::multipart::Part::bytes(big.into_bytes()));
    let response = post_form(&server, "/api/query", form).await;
    assert_eq!(response.status(), 413);

    // kmviz 0.8 forms.
    let form = new_form().text("database", "tsv");
    let response = post_form(&server, "/api/query", form).await;
    let (status, body) = common::openapi::read("POST", response).await;
    refused(status, &body, "the form has no 'fastx' file");
    let form = new_form()
        .text("database", "tsv")
        .text("tsv#z", "three")
        .part(
            "fastx",
            reqwest::multipart::Part::bytes(one.clone().into_bytes()),
        );
    let response = post_form(&server, "/api/query", form).await;
    let (status, body) = common::openapi::read("POST", response).await;
    refused(status, &body, "database 'tsv': option 'z' expects a number");
    let form = new_form().part("fastx", reqwest::multipart::Part::bytes(one.into_bytes()));
    let response = post_form(&server, "/api/query/nope", form).await;
    let (status, body) = common::openapi::read("POST", response).await;
    not_found(status, &body);

    // What axum refuses by itself is the error body too.
    let (status, body) = get_json(&server.url("/api/sessions/f00d?vectors=maybe")).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("vectors"),
        "{body}"
    );
    let response = client().put(server.url("/api/info")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    contract::<app::api::ErrorBody>(&response.json().await.unwrap());

    // Unknown sessions: 404 everywhere.
    for path in ["", "/events", "/download"] {
        let (status, body) = get_json(&server.url(&format!("/api/sessions/f00d{path}"))).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "no session 'f00d'");
    }
    let response = client()
        .post(server.url("/api/sessions/f00d/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(common::openapi::read("POST", response).await.0, 404);

    // Metadata pages.
    let (status, page) =
        get_json(&server.url("/api/databases/tsv/metadata?offset=10&limit=3")).await;
    assert_eq!(status, 200, "{page}");
    contract::<app::api::MetadataPage>(&page);
    assert_eq!(page["total"], 15);
    assert_eq!(page["columns"][0], json!({"name": "ID", "type": "text"}));
    assert_eq!(page["rows"].as_array().unwrap().len(), 3);
    assert_eq!(page["rows"][0][0], "D11", "D3 is missing, so row 10 is D11");
    assert_eq!(page["rows"][0][1], json!(rows()[10].lat));
    // MySQL tables are paged by id: D0 D1 D10 .. D15 D2 D4 D5.
    let (_, by_id) =
        get_json(&server.url("/api/databases/mariadb/metadata?offset=10&limit=3")).await;
    assert_eq!(by_id["total"], 15);
    let ids: Vec<&str> = by_id["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["D5", "D6", "D7"]);
    for database in ["sqlite", "parquet"] {
        let (_, other) = get_json(&server.url(&format!(
            "/api/databases/{database}/metadata?offset=10&limit=3"
        )))
        .await;
        assert_eq!(other, page, "{database}");
    }
    // Past the end, however far (SQLite reads a negative OFFSET as none).
    for database in DATABASES {
        let (status, past) = get_json(&server.url(&format!(
            "/api/databases/{database}/metadata?offset={}&limit=3",
            u64::MAX
        )))
        .await;
        assert_eq!(status, 200, "{database}: {past}");
        assert_eq!(past["rows"], json!([]), "{database}");
    }
    let (status, body) = get_json(&server.url("/api/databases/nope/metadata")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "unknown database 'nope'; known: mariadb, parquet, sqlite, tsv"
    );
    let (status, body) = get_json(&server.url("/api/databases/tsv/metadata?limit=20000")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "limit 20000 is above the largest page, 10000"
    );
    let (status, body) = get_json(&server.url("/api/databases/tsv/metadata?limit=lots")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_authentication_guards_everything_when_configured() {
    let (server, _dir) = instance("auth", "\n[auth]\nalice = \"s3cret\"\n");
    let url = server.url("/api/info");
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"kmviz\""
    );
    let wrong = client()
        .get(&url)
        .basic_auth("alice", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let stranger = client()
        .get(server.url("/api/sessions/x"))
        .basic_auth("bob", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
    let right = client()
        .get(&url)
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_their_quota_get_429_with_retry_after() {
    let (server, _dir) = instance("rate", "\n[rate_limits]\nrequests_per_minute = 3\n");
    let info = server.url("/api/info");
    for _ in 0..3 {
        assert_eq!(client().get(&info).send().await.unwrap().status(), 200);
    }
    let refused = client().get(&info).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let (_, body) = common::openapi::read("GET", refused).await;
    assert_eq!(
        body["error"],
        "client 127.0.0.1 sent more requests than its quota per minute allows"
    );
    // Probes are not counted.
    let health = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Query letters, over a client's requests.
    let extra = "\n[rate_limits]\nletters_per_minute = 100\n";
    let (server, _dir) = instance("letters", extra);
    let query = |n: usize| json!({"fastx": format!(">q\n{}\n", "ACGT".repeat(n / 4)), "databases": ["tsv"]});
    let (status, body) = submit(&server, query(60)).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = submit(&server, query(60)).await;
    assert_eq!(status, 429);
    assert_eq!(
        body["error"],
        "client 127.0.0.1 submitted more query letters than its quota per minute allows"
    );
    let (status, body) = submit(&server, query(200)).await;
    assert_eq!(status, 429);
    assert_eq!(
        body["error"],
        "200 letters are more than client 127.0.0.1's quota of a whole minute"
    );

    // With users, each user has its own quota.
    let extra = "\n[auth]\nalice = \"a\"\nbob = \"b\"\n[rate_limits]\nrequests_per_minute = 2\n";
    let (server, _dir) = instance("rateusers", extra);
    let info = server.url("/api/info");
    let status = |user: &'static str, password: &'static str| {
        let request = client().get(&info).basic_auth(user, Some(password));
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status("alice", "a").await, 200);
    assert_eq!(status("alice", "a").await, 200);
    assert_eq!(status("alice", "a").await, 429);
    assert_eq!(status("bob", "b").await, 200);
}
