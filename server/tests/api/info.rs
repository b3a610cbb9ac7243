//! The instance described: the OpenAPI document lists and routes every route, `/api/info`
//! describes the databases.

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::{self, contract, get_json};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_info_describes_the_databases() {
    let (server, _dir) = instance(
        "openapi",
        "\n[databases.tsv.defaults]\nz = { value = 3, hide = true }\ncoverage = 0.4\n",
    );
    let (status, doc) = get_json(&server.url("/api/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "/healthz",
            "/readyz",
            "/metrics",
            "/api/info",
            "/api/databases/{db}/metadata",
            "/api/query",
            "/api/query/{db}",
            "/api/sessions",
            "/api/sessions/{id}",
            "/api/sessions/{id}/cancel",
            "/api/sessions/{id}/hit",
            "/api/sessions/{id}/pairs",
            "/api/sessions/{id}/events",
            "/api/sessions/{id}/download",
            "/api/sessions/{id}/tabs/{plugin}",
            "/plugins/{plugin}/{path}",
            "/api/openapi.json",
            "/kmindex/infos",
            "/kmindex/query",
        ])
    );
    assert_eq!(&doc, common::openapi::document(), "served as made");
    // The validator the tests check answers with refuses what the types would not write.
    for wrong in [
        json!({"session": 1, "status": "running"}),
        json!({"session": "a", "status": "late"}),
        json!({"session": "a"}),
    ] {
        assert!(
            common::openapi::validate("/components/schemas/Submitted", &wrong).is_err(),
            "{wrong}"
        );
    }
    common::openapi::validate(
        "/components/schemas/Submitted",
        &json!({"session": "a", "status": "running"}),
    )
    .unwrap();
    let info = "/paths/~1api~1info/get/responses/200/content/application~1json/schema";
    assert!(common::openapi::validate(info, &json!({})).is_err());
    // Every described operation is routed: none falls through to the unknown-path answer
    // (405 for a method the path lacks), whatever it answers with made-up parameters.
    for (template, item) in doc["paths"].as_object().unwrap() {
        if template.starts_with("/kmindex/") {
            continue; // Served by `kmviz index serve` and the demo (tests/kmindex_server.rs).
        }
        let path = template
            .replace("{db}", "tsv")
            .replace("{id}", "f00d")
            .replace("{plugin}", "none")
            .replace("{path}", "a.css");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = client()
                .request(method.clone(), server.url(&path))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(
                status != 405 && !body.contains("no API route"),
                "{method} {template} is described but not routed: {status} {body}"
            );
        }
    }
    let (_, info) = get_json(&server.url("/api/info")).await;
    contract::<app::api::Info>(&info);
    let tsv = info["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "tsv")
        .unwrap();
    assert_eq!(tsv["provider"], "kmindex");
    let mut indexes = tsv["indexes"].clone();
    for index in indexes.as_array_mut().unwrap() {
        let occupancy = index.as_object_mut().unwrap().remove("occupancy");
        let occupancy = occupancy.and_then(|o| o.as_f64()).unwrap();
        assert!(0.0 < occupancy && occupancy < 0.5, "{occupancy}");
    }
    let layout = json!({"minimizer_size": 10, "partitions": 4, "bloom_size": 800000});
    let index = |name, abundance, bits| {
        let mut index = json!({"name": name, "smer_size": 25, "abundance": abundance,
            "samples": 16, "bits_per_cell": bits});
        index
            .as_object_mut()
            .unwrap()
            .extend(layout.as_object().unwrap().clone());
        index
    };
    assert_eq!(
        indexes,
        json!([index("abs", true, 2), index("pa", false, 1)])
    );
    assert_eq!(tsv["metadata"]["rows"], 15);
    let z = &tsv["options"][0];
    assert_eq!(
        (
            z["name"].as_str(),
            z["value"].as_f64(),
            z["hidden"].as_bool()
        ),
        (Some("z"), Some(3.0), Some(true))
    );
    assert_eq!(tsv["options"][1]["value"], 0.4);
    assert_eq!(tsv["options"][2]["type"], "multi_choice");
    assert_eq!(tsv["options"][2]["default"], json!(["abs", "pa"]));
}
