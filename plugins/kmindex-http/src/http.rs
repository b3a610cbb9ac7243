//! A blocking HTTP client over `wasi:http/outgoing-handler`: all a provider needs.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

/// Sends `method url` with an optional JSON `body`; the response's body when the status is
/// 2xx, else an error naming the status.
pub fn request(method: &str, url: &str, body: Option<String>) -> Result<Vec<u8>, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url}: not an http(s) URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let headers = Fields::new();
    if body.is_some() {
        headers
            .append("content-type", b"application/json")
            .map_err(|e| format!("{e:?}"))?;
    }
    let request = OutgoingRequest::new(headers);
    let set = |ok: Result<(), ()>| ok.map_err(|()| format!("{url}: refused by the HTTP types"));
    set(request.set_method(&match method {
        "POST" => Method::Post,
        _ => Method::Get,
    }))?;
    set(request.set_scheme(Some(&match scheme {
        "https" => Scheme::Https,
        _ => Scheme::Http,
    })))?;
    set(request.set_authority(Some(authority)))?;
    set(request.set_path_with_query(Some(if path.is_empty() { "/" } else { path })))?;
    let outgoing = request.body().map_err(|()| "no request body".to_owned())?;
    if let Some(body) = body {
        let stream = outgoing.write().map_err(|()| "no body stream".to_owned())?;
        for chunk in body.as_bytes().chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("{url}: {e:?}"))?;
        }
    }
    OutgoingBody::finish(outgoing, None).map_err(|e| format!("{url}: {e:?}"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{url}: {e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| format!("{url}: no response"))?
        .map_err(|()| format!("{url}: response taken twice"))?
        .map_err(|e| format!("{url}: {e:?}"))?;
    let status = response.status();
    let incoming = response
        .consume()
        .map_err(|()| "no response body".to_owned())?;
    let stream = incoming
        .stream()
        .map_err(|()| "no response stream".to_owned())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(1 << 16) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => break,
            Err(e) => return Err(format!("{url}: {e:?}")),
        }
    }
    if (200..300).contains(&status) {
        Ok(bytes)
    } else {
        Err(format!(
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))
    }
}
