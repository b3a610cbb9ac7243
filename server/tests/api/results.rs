//! Queries answered: the four MetaDBs joined to kmindex's answers, coverage against hand-computed
//! values, and the cap on results.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{get_json, kmindex_fixtures, records};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_metadbs_join_kmindex_answers_and_keep_samples_without_metadata() {
    let (server, _dir) = instance("join", "");
    let (text, names) = fasta(4, 2);
    let options = json!({"z": 4, "coverage": 0.5, "index": ["pa"]});
    let databases: Vec<Value> = DATABASES
        .iter()
        .map(|d| json!({"name": d, "options": options}))
        .collect();
    let (status, submitted) = submit(&server, json!({"fastx": text, "databases": databases})).await;
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["status"], "running");
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    assert_eq!(session["status"], "done");
    assert_eq!(session["pairs"].as_array().unwrap().len(), names.len() * 4);
    // The per-k-mer values only when asked for; everything else the same.
    let (status, mut full) =
        get_json(&server.url(&format!("/api/sessions/{id}?vectors=true"))).await;
    assert_eq!(status, 200, "{full}");
    for pair in full["pairs"].as_array_mut().unwrap() {
        let kmers_per_hit = result_len(&pair["result"]) - 29 + 1;
        for hit in pair["result"]["hits"].as_array_mut().unwrap() {
            let kmers = hit.as_object_mut().unwrap().remove("kmers").unwrap();
            assert_eq!(kmer_values(&kmers).len(), kmers_per_hit, "{hit}");
        }
    }
    assert_eq!(full, session);

    // kmindex's own answer for 1.fasta, z = 4, r = 0.5.
    let oracle: Value = serde_json::from_slice(
        &std::fs::read(kmindex_fixtures().join("outputs/q1_pa.json")).unwrap(),
    )
    .unwrap();
    let mut saw_missing = false;
    for (name, original) in &names {
        let reference = &pair(&session, name, "tsv")["result"];
        for database in DATABASES {
            let p = pair(&session, name, database);
            assert_eq!(p["state"], "done", "{p}");
            let result = &p["result"];
            assert_eq!(
                result["columns"],
                json!([
                    {"name": "Lat", "type": "float"},
                    {"name": "Long", "type": "float"},
                    {"name": "Depth", "type": "integer"},
                    {"name": "Site", "type": "text"},
                    {"name": "Filtered", "type": "boolean"},
                ]),
                "{database}"
            );
            assert_eq!(
                result["geodata"],
                json!({"latitude": "Lat", "longitude": "Long"})
            );
            // Same hits, coverage and metadata whatever the MetaDB.
            assert_eq!(
                result["hits"], reference["hits"],
                "{database} differs from tsv"
            );
        }
        let hits = reference["hits"].as_array().unwrap();
        for hit in hits {
            let id = hit["ID"].as_str().unwrap();
            match expected_metadata(id) {
                Some(metadata) => {
                    assert_eq!(hit["has_metadata"], true);
                    assert_eq!(hit["metadata"], json!(metadata), "{id}");
                }
                None => {
                    saw_missing = true;
                    assert_eq!(hit["has_metadata"], false);
                    assert_eq!(hit["metadata"], json!([null, null, null, null, null]));
                }
            }
            assert_eq!(hit["index"], "pa");
            assert!(hit.get("kmers").is_none(), "{hit}");
        }
        // Ranked by CovXK.
        let ratios: Vec<f64> = hits.iter().map(|h| h["CovXK"].as_f64().unwrap()).collect();
        assert!(ratios.windows(2).all(|w| w[0] >= w[1]), "{ratios:?}");
        if name.starts_with('a') {
            let expected: BTreeMap<String, f64> = oracle["pa"][original]
                .as_object()
                .unwrap()
                .iter()
                .map(|(s, r)| (s.clone(), r.as_f64().unwrap()))
                .collect();
            let got: BTreeMap<String, f64> = hits
                .iter()
                .map(|h| {
                    (
                        h["ID"].as_str().unwrap().to_owned(),
                        h["CovXK"].as_f64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "query {name} (record {original})");
        }
    }
    assert!(
        saw_missing,
        "D3's own records find D3, which has no metadata"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_equals_hand_computed_values() {
    let (server, _dir) = instance("coverage", "");
    // A 100-letter record of sample D1 followed by 40 letters found nowhere: with z = 4
    // (k = 29), the first 100 - 29 + 1 = 72 of the 112 k-mers are in D1, and its first 100 of
    // 140 bases are covered.
    let tail = "AC".repeat(20);
    let pa = records("pa_dataset", 1)[0].seq.clone();
    let abs = records("abs_dataset", 1)[0].seq.clone();
    assert_eq!((pa.len(), abs.len()), (100, 100));
    let text = format!(">pa\n{pa}{tail}\n>abs\n{abs}{tail}\n");
    let (status, submitted) = submit(
        &server,
        json!({"fastx": text, "databases": [{"name": "tsv", "options": {"z": 4, "coverage": 0.5}}]}),
    )
    .await;
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let per_base_of = arrow_per_base(&server, id).await;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    for (query, index, abundance) in [("pa", "pa", false), ("abs", "abs", true)] {
        let result = &pair(&session, query, "tsv")["result"];
        assert_eq!(result["query_length"], 140);
        assert!(
            result["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["ID"] == "D1" && h["index"] == index),
            "D1 in {index}: {result}"
        );
        // One hit with its values, at its own route.
        let (status, hit) = get_json(&server.url(&format!(
            "/api/sessions/{id}/hit?query={query}&database=tsv&index={index}&id=D1"
        )))
        .await;
        assert_eq!(status, 200, "{hit}");
        let kmers = kmer_values(&hit["kmers"]);
        assert_eq!(kmers.len(), 112);
        assert!(kmers[..72].iter().all(|&v| v > 0.0), "{kmers:?}");
        assert!(kmers[72..].iter().all(|&v| v == 0.0), "{kmers:?}");
        assert!(close(hit["CovXK"].as_f64().unwrap(), 72.0 / 112.0));
        assert!(close(hit["CovXB"].as_f64().unwrap(), 100.0 / 140.0));
        // Per base, as the Arrow stream derives it from the k-mers.
        let bases = &per_base_of[&(query.to_owned(), index.to_owned(), "D1".to_owned())];
        assert_eq!(bases.len(), 140);
        if abundance {
            let mean_k = kmers.iter().sum::<f64>() / 112.0;
            assert!(close(hit["CovYK"].as_f64().unwrap(), mean_k));
            let per_base = per_base_mean(&kmers, 29, 140);
            assert!(bases.iter().zip(&per_base).all(|(a, b)| close(*a, *b)));
            assert!(close(
                hit["CovYB"].as_f64().unwrap(),
                per_base.iter().sum::<f64>() / 140.0
            ));
            // The last base is covered by the last k-mer only (kmviz 0.8 shifted it).
            assert_eq!(bases[139], kmers[111]);
        } else {
            assert!(hit.get("CovYK").is_none());
            let covered: Vec<f64> = (0..140).map(|b| if b < 100 { 1.0 } else { 0.0 }).collect();
            assert_eq!(bases, &covered);
        }
    }
    let (status, missing) = get_json(&server.url(&format!(
        "/api/sessions/{id}/hit?query=pa&database=tsv&index=pa&id=nobody"
    )))
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        missing["error"],
        format!(
            "session '{id}' has no hit 'nobody' in index 'pa' for query 'pa' on database 'tsv'"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_capped_with_a_count_of_what_is_not_shown() {
    let (server, _dir) = instance("cap", "\n[engine]\nmax_results = 3\n");
    let seq = &records("pa_dataset", 1)[0].seq;
    // Coverage 0 keeps every sample of both sub-indexes: 32 hits, 3 kept.
    let (_, submitted) = submit(
        &server,
        json!({"fastx": format!(">q\n{seq}\n"), "databases": [{"name": "tsv", "options": {"coverage": 0}}]}),
    )
    .await;
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let result = &pair(&session, "q", "tsv")["result"];
    assert_eq!(result["hits"].as_array().unwrap().len(), 3);
    assert_eq!(result["not_shown"], 29);
    // The best are kept: D1 holds the whole query in both sub-indexes.
    assert_eq!(result["hits"][0]["ID"], "D1");
    assert_eq!(result["hits"][0]["CovXK"], 1.0);
    let zip = client()
        .get(server.url(&format!("/api/sessions/{id}/download")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(unzip(&zip)["README.md"].contains("3 samples (29 more not shown)"));
}
