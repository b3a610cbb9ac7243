//! Building sub-indexes: what is indexed is found, kmindex's answers on its own test data are
//! reproduced, abundance classes are kmtricks', the registry grows without losing anything, and
//! bad inputs fail cleanly.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{kmindex_fixtures, kmviz, records};
use kmindex::build::{self, BuildOptions, Progress, Sample, abundance_class};
use kmindex::{Format, Index, output};

fn scratch(tag: &str) -> PathBuf {
    common::scratch(&format!("build-{tag}"))
}

/// kmindex's dataset as a file of files in `dir`, its absolute paths rewritten to `../shared`.
fn dataset_fof(dataset: &str, dir: &Path) -> PathBuf {
    let original =
        std::fs::read_to_string(kmindex_fixtures().join(format!("datasets/{dataset}/fof.txt")))
            .unwrap();
    let data = kmindex_fixtures().join(format!("datasets/{dataset}"));
    let rewritten: String = original
        .lines()
        .map(|line| {
            let (id, path) = line.split_once(':').unwrap();
            let file = Path::new(path.trim()).file_name().unwrap();
            format!("{id}: {}\n", data.join(file).display())
        })
        .collect();
    let path = dir.join(format!("{dataset}.fof"));
    std::fs::write(&path, rewritten).unwrap();
    path
}

fn options(name: &str, bw: usize) -> BuildOptions {
    BuildOptions {
        name: name.into(),
        smer_size: 25,
        minim_size: 10,
        bloom_size: Some(800_000),
        nb_partitions: 4,
        bw,
        threads: 2,
    }
}

#[test]
fn reproduces_kmindexs_answer_on_its_test_data() {
    let dir = scratch("q1");
    let fof = dataset_fof("pa_dataset", &dir);
    let samples = build::read_fof(&fof).unwrap();
    assert_eq!(samples.len(), 16);
    build::build(
        &dir.join("index"),
        &samples,
        &options("pa", 1),
        &Progress::default(),
    )
    .unwrap();
    let index = Index::open(&dir.join("index")).unwrap();
    let pa = index.get("pa").unwrap();
    let queries = records("pa_dataset", 1);
    let seqs: Vec<&[u8]> = queries.iter().map(|q| q.seq.as_bytes()).collect();
    let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    let ours = output::records(
        pa,
        &names,
        &pa.query(&seqs, 4, false).unwrap(),
        Format::Json,
        0.5,
    );
    let theirs = std::fs::read_to_string(kmindex_fixtures().join("outputs/q1_pa.json")).unwrap();
    // Same samples and ratios for every query. A different repartition or Bloom layout could
    // only add or remove false positives (samples other than D1, whose sequences these are);
    // count them and bound them.
    let ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
    let mut differences = 0;
    for (query, expected) in theirs["pa"].as_object().unwrap() {
        let got = ours["pa"][query].as_object().unwrap();
        assert_eq!(got["D1"], 1.0, "query {query}");
        assert_eq!(expected["D1"], 1.0, "query {query}");
        for sample in (0..16).map(|s| format!("D{s}")).filter(|s| s != "D1") {
            differences += usize::from(got.get(&sample) != expected.get(&sample));
        }
    }
    assert!(
        differences <= 15,
        "{differences} false-positive differences in 15000 query × sample pairs"
    );
    // In fact none, at z = 4 and r = 0.5: the file is byte-identical.
    assert_eq!(
        serde_json::to_string(&ours).unwrap(),
        serde_json::to_string(&theirs).unwrap()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_sequence_is_found_whole_in_its_sample_and_registry_updates_keep_the_first() {
    let dir = scratch("roundtrip");
    let index_dir = dir.join("index");
    let pa = build::read_fof(&dataset_fof("pa_dataset", &dir)).unwrap();
    let abs = build::read_fof(&dataset_fof("abs_dataset", &dir)).unwrap();
    let first = build::build(&index_dir, &pa, &options("first", 1), &Progress::default()).unwrap();
    let registry_after_first = std::fs::read_to_string(index_dir.join("index.json")).unwrap();
    let second = build::build(
        &index_dir,
        &abs,
        &options("second", 2),
        &Progress::default(),
    )
    .unwrap();
    let index = Index::open(&index_dir).unwrap();
    assert_eq!(
        index.sub_indexes().map(|s| s.name()).collect::<Vec<_>>(),
        ["first", "second"]
    );
    assert_eq!(index.get("first").unwrap().entry(), &first.entry);
    assert_eq!(index.get("second").unwrap().entry(), &second.entry);
    for sub in index.sub_indexes() {
        assert_eq!(sub.fingerprint(), sub.entry().sha1);
    }
    let first_entry: serde_json::Value = serde_json::from_str(&registry_after_first).unwrap();
    let both: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(index_dir.join("index.json")).unwrap())
            .unwrap();
    assert_eq!(first_entry["index"]["first"], both["index"]["first"]);

    let (sub, dataset) = (index.get("first").unwrap(), "pa_dataset");
    for sample in [0, 9, 15] {
        let recs = records(dataset, sample);
        let seqs: Vec<&[u8]> = recs.iter().map(|q| q.seq.as_bytes()).collect();
        for result in sub.query(&seqs, 0, false).unwrap() {
            assert_eq!(result.ratios[sample], 1.0);
        }
    }

    // Registering the same name again is refused and changes nothing.
    let before = std::fs::read(index_dir.join("index.json")).unwrap();
    let err =
        build::build(&index_dir, &pa, &options("first", 1), &Progress::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "sub-index 'first' already exists in {}",
            index_dir.display()
        )
    );
    assert_eq!(std::fs::read(index_dir.join("index.json")).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn abundance_classes_are_kmtricks_log2_classes() {
    let dir = scratch("abs");
    let samples = build::read_fof(&dataset_fof("abs_dataset", &dir)).unwrap();
    build::build(
        &dir.join("index"),
        &samples,
        &options("abs", 2),
        &Progress::default(),
    )
    .unwrap();
    let index = Index::open(&dir.join("index")).unwrap();
    let abs = index.get("abs").unwrap();
    for sample in [1, 5, 12] {
        let mut multiplicity: HashMap<String, u32> = HashMap::new();
        for r in records("abs_dataset", sample) {
            *multiplicity.entry(r.seq).or_default() += 1;
        }
        let distinct: Vec<&String> = multiplicity.keys().collect();
        let seqs: Vec<&[u8]> = distinct.iter().map(|s| s.as_bytes()).collect();
        let (mut exact, mut total) = (0, 0);
        for (seq, result) in distinct.iter().zip(abs.query(&seqs, 0, true).unwrap()) {
            let want = abundance_class(multiplicity[*seq], 2);
            let positions = result.positions.unwrap().kmers(sample).values();
            assert!(positions.iter().all(|&p| p >= want));
            exact += positions.iter().filter(|&&p| p == want).count();
            total += positions.len();
        }
        assert!(
            exact * 10 >= total * 9,
            "{exact} of {total} k-mers have their exact class"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_bloom_size_is_chosen_from_the_data_when_not_given() {
    let dir = scratch("sizing");
    let samples = build::read_fof(&dataset_fof("pa_dataset", &dir)).unwrap();
    let mut opts = options("auto", 1);
    opts.bloom_size = None;
    let report = build::build(&dir.join("index"), &samples, &opts, &Progress::default()).unwrap();
    let sizing = report.sizing.unwrap();
    // 1000 sequences of 100 bases per sample: about 76000 distinct 25-mers.
    assert!(
        (70_000..82_000).contains(&sizing.largest_sample),
        "{sizing:?}"
    );
    assert!(
        (sizing.smer_fpr - build::TARGET_SMER_FPR).abs() < 0.005,
        "{sizing:?}"
    );
    assert!(sizing.kmer_fpr.windows(2).all(|w| w[1] < w[0]));
    assert_eq!(report.entry.bloom_size, sizing.bloom_size);
    // The filled fraction the index reports is the false-positive rate the sizing aimed at.
    let occupancy = Index::open(&dir.join("index"))
        .unwrap()
        .get("auto")
        .unwrap()
        .occupancy();
    assert!(
        (occupancy - sizing.smer_fpr).abs() < 0.01,
        "{occupancy} vs {sizing:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_fail_naming_the_file_and_leave_nothing_behind() {
    let dir = scratch("bad");
    let index_dir = dir.join("index");
    let good = dir.join("good.fa");
    std::fs::write(&good, ">a\nACGTACGTACGTACGTACGTACGTACGTACGT\n").unwrap();
    let sample = |id: &str, file: &Path| Sample {
        id: id.into(),
        files: vec![file.to_owned()],
        min_count: 1,
    };
    build::build(
        &index_dir,
        &[sample("S1", &good)],
        &options("kept", 1),
        &Progress::default(),
    )
    .unwrap();
    let registry = std::fs::read(index_dir.join("index.json")).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&index_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };

    let missing = dir.join("missing.fa");
    let err = build::build(
        &index_dir,
        &[sample("S1", &good), sample("S2", &missing)],
        &options("new", 1),
        &Progress::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("sample S2: {}: no such file", missing.display())
    );

    let broken = dir.join("broken.fq");
    std::fs::write(&broken, "@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nACGT\n+\nII\n").unwrap();
    let err = build::build(
        &index_dir,
        &[sample("S1", &good), sample("S2", &broken)],
        &options("new", 1),
        &Progress::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("sample S2: {}, line 5:", broken.display())),
        "{text}"
    );

    assert_eq!(
        std::fs::read(index_dir.join("index.json")).unwrap(),
        registry
    );
    assert_eq!(listing(), ["index.json", "kept"]);

    let fof = dir.join("bad.fof");
    std::fs::write(&fof, "S1: good.fa\nS2 good.fa\n").unwrap();
    let err = build::read_fof(&fof).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("{}, line 2: expected 'ID: file1 ; file2'", fof.display())
    );
    std::fs::write(&fof, "S1: good.fa\n\nS1: good.fa ; good.fa ! 2\n").unwrap();
    let err = build::read_fof(&fof).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("{}, line 3: sample 'S1' is listed twice", fof.display())
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_cli_builds_and_reports() {
    let dir = scratch("cli");
    let fof = dataset_fof("pa_dataset", &dir);
    let index = dir.join("index");
    let (ok, _, stderr) = kmviz(&[
        "index",
        "build",
        "--fof",
        fof.to_str().unwrap(),
        "--index",
        index.to_str().unwrap(),
        "--name",
        "pa",
        "--kmer-size",
        "25",
        "--threads",
        "2",
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("expected false positives"), "{stderr}");
    assert!(stderr.contains("per (s+z)-mer, z = 5"), "{stderr}");
    assert!(
        stderr.contains("built 'pa' (16 samples, 1600000 bases"),
        "{stderr}"
    );
    let (ok, stdout, _) = kmviz(&["index", "infos", "--index", index.to_str().unwrap()]);
    assert!(ok);
    let registry: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(registry["index"]["pa"]["nb_samples"], 16);
    std::fs::remove_dir_all(dir).unwrap();
}
