//! A provider plugin that misbehaves on request, so that kmviz's tests can check the sandbox
//! stops it: database parameter `{"mode": M, "target": T}` with M one of
//! - `loop`: searches forever;
//! - `allocate`: allocates until memory runs out;
//! - `read`: reads file T (outside its grant in the tests);
//! - `http`: sends a request to URL T (a host it was not granted in the tests);
//! - `panic`: panics (a trap: Rust components abort on panic);
//! - anything else: finds the query in sample `S1` of sub-index `probe`.

use serde::Deserialize;

wit_bindgen::generate!({
    path: "../../plugins-wit",
    world: "provider-plugin",
});

use exports::kmviz::plugin::provider::{Description, Guest, Hit, Query, SubIndex};

struct Probe;

#[derive(Deserialize)]
struct Params {
    mode: String,
    #[serde(default)]
    target: String,
}

impl Guest for Probe {
    fn describe(params: String) -> Result<Description, String> {
        serde_json::from_str::<Params>(&params).map_err(|e| e.to_string())?;
        Ok(Description {
            name: "sandbox-probe".into(),
            indexes: vec![SubIndex {
                name: "probe".into(),
                kmer_size: 0,
                samples: vec!["S1".into()],
                abundance: false,
            }],
            options: vec![],
        })
    }

    fn search(params: String, _query: Query) -> Result<Vec<Hit>, String> {
        let params: Params = serde_json::from_str(&params).map_err(|e| e.to_string())?;
        match params.mode.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "allocate" => {
                let mut held: Vec<Vec<u8>> = Vec::new();
                loop {
                    held.push(vec![1; 1 << 20]);
                    std::hint::black_box(&held);
                }
            }
            "read" => std::fs::read(&params.target)
                .map(|_| Vec::new())
                .map_err(|e| format!("cannot read {}: {e}", params.target)),
            "http" => http_get(&params.target).map(|()| Vec::new()),
            "panic" => panic!("the probe panics on request"),
            _ => Ok(vec![Hit {
                index: "probe".into(),
                sample: "S1".into(),
                ratio: 1.0,
                abundance: None,
                positions: vec![],
                kmer_size: 0,
            }]),
        }
    }
}

/// A GET to `url`; the host's refusal comes back as an error code.
fn http_get(url: &str) -> Result<(), String> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, OutgoingBody, OutgoingRequest, Scheme};
    let rest = url
        .strip_prefix("http://")
        .ok_or("an http:// URL is needed")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_scheme(Some(&Scheme::Http));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(if path.is_empty() { "/" } else { path }));
    let body = request.body().map_err(|()| "no body")?;
    OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{url}: {e:?}"))?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(_))) => Ok(()),
        Some(Ok(Err(e))) => Err(format!("{url}: {e:?}")),
        _ => Err(format!("{url}: no response")),
    }
}

export!(Probe);
