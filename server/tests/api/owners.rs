//! API tokens and ownership: tokens made, listed and revoked by `kmviz token` on the store of
//! an instance while it serves; a session belongs to the user or token that made it, is listed
//! and deleted by them only; shared links stay readable unless the operator says otherwise;
//! each token has its own quota.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{self, Server};
use crate::support::*;

/// Who sends a request.
#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    Bearer(&'a str),
    User(&'a str, &'a str),
}

/// Sends `method path` as `who` (with `body` as JSON): the status and the body, checked
/// against the OpenAPI document.
async fn call(
    server: &Server,
    who: As<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client().request(method.clone(), server.url(path));
    request = match who {
        As::Nobody => request,
        As::Bearer(token) => request.bearer_auth(token),
        As::User(user, password) => request.basic_auth(user, Some(password)),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let (status, url) = (response.status().as_u16(), response.url().to_string());
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    common::openapi::check(method.as_str(), &url, status, &content_type, &body);
    (status, body)
}

fn query() -> Value {
    json!({"fastx": format!(">q\n{}\n", common::random_dna(7, 120)), "databases": ["tsv"]})
}

/// Submits as `who`: the new session's id.
async fn submit_as(server: &Server, who: As<'_>) -> String {
    let (status, body) = call(server, who, Method::POST, "/api/query", Some(query())).await;
    assert_eq!(status, 202, "{body}");
    body["session"].as_str().unwrap().to_owned()
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_own_their_sessions() {
    let (server, dir) = instance("owners", "");
    let config = dir.join("kmviz.toml");
    // Made while the server runs: it reads them from the store it shares with the command.
    let (alice, alice_id) = new_token(&config, "alice-ci");
    let (bob, _) = new_token(&config, "bob-ci");
    let (ok, listed, _) = token_cli(&config, &["list"]);
    assert!(ok);
    assert!(
        listed.contains(&format!("{alice_id}\t")) && listed.contains("\talice-ci\n"),
        "{listed}"
    );
    assert!(listed.contains("\tbob-ci\n"), "{listed}");
    let secret = alice.rsplit('_').next().unwrap();
    assert!(!listed.contains(secret));
    let stored = std::fs::read(dir.join("sessions/sessions.sqlite")).unwrap();
    let wal = std::fs::read(dir.join("sessions/sessions.sqlite-wal")).unwrap_or_default();
    for bytes in [&stored, &wal] {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "the store keeps a token's secret");
    }

    let (alice, bob) = (As::Bearer(&alice), As::Bearer(&bob));
    let mine = submit_as(&server, alice).await;
    let anonymous = submit_as(&server, As::Nobody).await;
    let session = server.finished(&mine).await;
    assert_eq!(session["owner"], format!("token:{alice_id}"));
    assert_eq!(server.finished(&anonymous).await.get("owner"), None);

    // Each lists its own.
    let (status, list) = call(&server, alice, Method::GET, "/api/sessions", None).await;
    assert_eq!((status, ids(&list)), (200, vec![mine.as_str()]), "{list}");
    assert_eq!(list[0]["queries"], 1);
    assert_eq!(list[0]["databases"], json!(["tsv"]));
    assert_eq!(list[0]["status"], "done");
    let (status, list) = call(&server, bob, Method::GET, "/api/sessions", None).await;
    assert_eq!((status, list), (200, json!([])));
    let (status, body) = call(&server, As::Nobody, Method::GET, "/api/sessions", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body["error"],
        "sessions are listed for their owner: this request names no user or API token \
         (`Authorization: Bearer`)"
    );

    // A shared link reads; only the owner changes.
    let path = format!("/api/sessions/{mine}");
    assert_eq!(call(&server, bob, Method::GET, &path, None).await.0, 200);
    assert_eq!(
        call(&server, As::Nobody, Method::GET, &path, None).await.0,
        200
    );
    let (status, body) = call(&server, bob, Method::DELETE, &path, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        format!("session '{mine}' is not yours: only token:{alice_id} may change it")
    );
    let cancel = format!("{path}/cancel");
    assert_eq!(call(&server, bob, Method::POST, &cancel, None).await.0, 403);
    assert_eq!(
        call(&server, As::Nobody, Method::DELETE, &path, None)
            .await
            .0,
        401
    );
    let theirs = format!("/api/sessions/{anonymous}");
    let (status, body) = call(&server, alice, Method::DELETE, &theirs, None).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"],
        format!("session '{anonymous}' belongs to no one: it is kept until it expires")
    );
    // Cancelling a session of no one stays open to its link, as before owners.
    assert_eq!(
        call(
            &server,
            As::Nobody,
            Method::POST,
            &format!("{theirs}/cancel"),
            None
        )
        .await
        .0,
        200
    );

    // The owner deletes: gone from every route and from the list; the other session stays.
    assert_eq!(
        call(&server, alice, Method::DELETE, &path, None).await,
        (204, Value::Null)
    );
    for route in ["", "/download", "/events"] {
        let (status, _) = call(&server, alice, Method::GET, &format!("{path}{route}"), None).await;
        assert_eq!(status, 404, "{route}");
    }
    let (_, list) = call(&server, alice, Method::GET, "/api/sessions", None).await;
    assert_eq!(list, json!([]));
    assert_eq!(
        call(&server, As::Nobody, Method::GET, &theirs, None)
            .await
            .0,
        200
    );

    // A wrong token, a revoked one: 401, with the scheme to use.
    let wrong = format!("kmviz_{alice_id}_{}", "0".repeat(64));
    let response = client()
        .get(server.url("/api/info"))
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (ok, _, err) = token_cli(&config, &["revoke", &alice_id]);
    assert!(ok, "{err}");
    assert_eq!(
        call(&server, alice, Method::GET, "/api/info", None).await.0,
        401
    );
    assert_eq!(
        call(&server, bob, Method::GET, "/api/info", None).await.0,
        200
    );
    let (ok, _, err) = token_cli(&config, &["revoke", &alice_id]);
    assert!(!ok);
    assert!(err.contains(&format!("no token '{alice_id}'")), "{err}");
    let (ok, _, err) = token_cli(&config, &["create", " "]);
    assert!(!ok);
    assert!(
        err.contains("a token's name is 1 to 100 printable characters"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_sessions_and_quotas_per_token() {
    // Users, sessions kept to their owners, and quotas: tokens still work beside users.
    let extra = "\n[auth]\nalice = \"a\"\nbob = \"b\"\n[sessions]\nshared_links = false\n\
                 [rate_limits]\nrequests_per_minute = 8\n";
    let config = write_instance("private", extra);
    let (token, token_id) = new_token(&config, "robot");
    let (other, _) = new_token(&config, "other robot");
    let server = Server::start(&config);
    let (alice, bob) = (As::User("alice", "a"), As::User("bob", "b"));
    let robot = As::Bearer(&token);

    let hers = submit_as(&server, alice).await;
    let path = format!("/api/sessions/{hers}");
    let (status, session) = call(&server, alice, Method::GET, &path, None).await;
    assert_eq!((status, &session["owner"]), (200, &json!("user:alice")));
    // Another user, or a token, does not find it.
    for who in [bob, robot] {
        let (status, body) = call(&server, who, Method::GET, &path, None).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], format!("no session '{hers}'"));
    }
    assert_eq!(
        call(&server, As::Nobody, Method::GET, &path, None).await.0,
        401
    );
    // Her session's link comes rendered with its results for her only (the page for anyone).
    let page = async |user: &str, password: &str| {
        let response = client()
            .get(server.url(&format!("/s/{hers}")))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "the web app is built (`cargo xtask web`)"
        );
        let policy = response.headers()[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        (policy, response.text().await.unwrap())
    };
    let (policy, hers_page) = page("alice", "a").await;
    assert!(
        hers_page.contains(&format!("href=\"/api/sessions/{hers}/download\"")),
        "{hers_page}"
    );
    assert!(hers_page.contains("<script type=\"module\" src=\"/start.js\">"));
    // Leptos's inline scripts run under the page's policy, by their nonce, and no other does.
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {policy}"));
    let inline = hers_page.matches("<script>").count() + hers_page.matches("<script nonce").count();
    assert!(inline >= 1, "{hers_page}");
    assert_eq!(
        hers_page
            .matches(&format!("<script nonce=\"{nonce}\">"))
            .count(),
        inline
    );
    assert!(!page("bob", "b").await.1.contains(&hers));
    let (status, list) = call(&server, alice, Method::GET, "/api/sessions", None).await;
    assert_eq!((status, ids(&list)), (200, vec![hers.as_str()]));

    // The token's own quota: 8 requests a minute (it has sent one above), whatever the users
    // or the other token do.
    let mine = submit_as(&server, robot).await;
    let (_, list) = call(&server, robot, Method::GET, "/api/sessions", None).await;
    assert_eq!(ids(&list), vec![mine.as_str()]);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(call(&server, robot, Method::GET, "/api/info", None).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let (status, body) = call(&server, robot, Method::GET, "/api/info", None).await;
    assert_eq!(status, 429);
    assert_eq!(
        body["error"],
        format!("token 'robot' ({token_id}) sent more requests than its quota per minute allows")
    );
    assert_eq!(
        call(&server, As::Bearer(&other), Method::GET, "/api/info", None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&server, bob, Method::GET, "/api/info", None).await.0,
        200
    );
}
