//! Checks answers against the OpenAPI document the server serves (made from the same routes):
//! the route, the method, the status and the content type must be described, and a JSON body
//! must validate against the described schema (a JSON Schema 2020-12 validator, as OpenAPI
//! 3.1 uses).

use std::sync::OnceLock;

use serde_json::Value;

const DOCUMENT_URL: &str = "file:///openapi.json";

/// The document, as `kmviz openapi` and `/api/openapi.json` give it.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_value(kmviz::api::openapi::document()).unwrap())
}

/// The described path template `path` (a URL's path) falls under, if any.
pub fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    document()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .find(|template| {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            // The plugins' assets end in a catch-all.
            let catch_all = template.starts_with("/plugins/") && segments.len() > parts.len();
            (parts.len() == segments.len() || catch_all)
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
        })
}

/// JSON Pointer escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Checks that `body`, answered with `status` and `content_type` to `method url`, is what the
/// document says that route answers. A path no route has is answered the error body.
pub fn check(method: &str, url: &str, status: u16, content_type: &str, body: &Value) {
    let path = reqwest::Url::parse(url).unwrap().path().to_owned();
    let document = document();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let pointer = match template_of(&path) {
        Some(template) => {
            let method = method.to_lowercase();
            let operation = &document["paths"][template][&method];
            assert!(
                operation.is_object(),
                "{method} {template} is not described"
            );
            let answer = &operation["responses"][status.to_string()];
            assert!(
                answer.is_object(),
                "{method} {template} answered {status}, which its description does not list: {body}"
            );
            if answer["content"].is_null() && media.is_empty() && body.is_null() {
                return; // described without a body, answered without one (204)
            }
            assert!(
                answer["content"][media].is_object(),
                "{method} {template} answered {status} as {media}, which its description does not list"
            );
            format!(
                "/paths/{}/{method}/responses/{status}/content/{}/schema",
                escape(template),
                escape(media)
            )
        }
        None => {
            assert!(status == 404, "{method} {path}: no route, and {status}");
            "/components/schemas/ErrorBody".to_owned()
        }
    };
    if media == "application/json" {
        validate(&pointer, body)
            .unwrap_or_else(|e| panic!("{method} {path} answered {status}: {e}\n{body}"));
    }
}

/// Validates `value` against the schema at `pointer` in the document.
pub fn validate(pointer: &str, value: &Value) -> Result<(), String> {
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource(DOCUMENT_URL, document().clone())
        .map_err(|e| e.to_string())?;
    let mut schemas = boon::Schemas::new();
    let schema = compiler
        .compile(&format!("{DOCUMENT_URL}#{pointer}"), &mut schemas)
        .map_err(|e| format!("the schema at {pointer} does not compile: {e:#}"))?;
    schemas
        .validate(value, schema)
        .map_err(|e| format!("not as described at {pointer}: {e:#}"))
}

/// Reads `response` as JSON and checks it against the document (`method` is the request's).
pub async fn read(method: &str, response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let url = response.url().to_string();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    check(method, &url, status, &content_type, &body);
    (status, body)
}
