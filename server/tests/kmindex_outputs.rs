//! `kmviz index query` against kmindex's own outputs for the fixture index, byte for byte.

mod common;

use common::{fixture_index, kmindex_fixtures, kmviz};

fn query(args: &[&str]) -> Vec<u8> {
    let index = fixture_index();
    let fastx = kmindex_fixtures().join("datasets/pa_dataset/1.fasta");
    let mut all = vec![
        "index",
        "query",
        "--index",
        index.to_str().unwrap(),
        "--fastx",
        fastx.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = kmviz(&all);
    assert!(ok, "kmviz failed: {stderr}");
    stdout
}

#[test]
fn json_is_byte_identical_to_kmindex_q1_pa() {
    let ours = query(&["--name", "pa", "--z", "4", "--r", "0.5", "--format", "json"]);
    let theirs = std::fs::read(kmindex_fixtures().join("outputs/q1_pa.json")).unwrap();
    assert!(
        ours == theirs,
        "differs from kmindex's q1_pa.json:\n{}",
        first_difference(&ours, &theirs)
    );
}

#[test]
fn tsv_is_byte_identical_to_kmindex_q1_z5_pa() {
    let ours = query(&["--name", "pa", "--z", "5", "--format", "tsv"]);
    let theirs = std::fs::read(kmindex_fixtures().join("outputs/q1_z5_pa.tsv")).unwrap();
    assert!(
        ours == theirs,
        "differs from kmindex's q1_z5_pa.tsv:\n{}",
        first_difference(&ours, &theirs)
    );
}

#[test]
fn infos_prints_the_registry_as_kmindex_does() {
    let index = fixture_index();
    let (ok, stdout, stderr) = kmviz(&["index", "infos", "--index", index.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let printed: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(index.join("index.json")).unwrap()).unwrap();
    assert_eq!(printed, file);
    // nlohmann's dump(4) plus std::endl: the registry file itself was written that way.
    let text = std::fs::read(index.join("index.json")).unwrap();
    assert_eq!(
        String::from_utf8(stdout).unwrap().trim_end(),
        String::from_utf8(text).unwrap().trim_end()
    );
}

#[test]
fn bad_arguments_are_refused_clearly() {
    let index = fixture_index();
    let fastx = kmindex_fixtures().join("datasets/pa_dataset/1.fasta");
    let base = [
        "index",
        "query",
        "--index",
        index.to_str().unwrap(),
        "--fastx",
        fastx.to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        kmviz(&args)
    };
    let (ok, _, err) = run(&["--name", "nope"]);
    assert!(!ok);
    assert!(
        err.contains("no sub-index 'nope' (registered: abs, pa)"),
        "{err}"
    );
    let (ok, _, err) = run(&["--name", "pa", "--r", "1.5"]);
    assert!(!ok);
    assert!(err.contains("1.5 is not in [0.0, 1.0]"), "{err}");
    let (ok, _, err) = run(&["--name", "pa", "--format", "xml"]);
    assert!(!ok);
    assert!(err.contains("unknown format 'xml'"), "{err}");
    let (ok, _, err) = kmviz(&[
        "index",
        "query",
        "--index",
        "/nonexistent",
        "--name",
        "pa",
        "--fastx",
        "x.fa",
    ]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/index.json"), "{err}");
}

fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let from = at.saturating_sub(80);
    format!(
        "lengths {} vs {}; first difference at byte {at}\nours:   {:?}\ntheirs: {:?}",
        ours.len(),
        theirs.len(),
        String::from_utf8_lossy(&ours[from..(at + 80).min(ours.len())]),
        String::from_utf8_lossy(&theirs[from..(at + 80).min(theirs.len())]),
    )
}
