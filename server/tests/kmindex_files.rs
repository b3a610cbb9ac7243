//! Opening indexes: links resolved as kmindex resolves them, and files that are not what they
//! should be refused with the file and what is wrong.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture_index, kmindex_fixtures, kmviz};
use kmindex::Index;

/// A writable copy of the fixture's `pa` sub-index under a fresh index directory, linked with
/// a real relative symbolic link.
fn copy_index(tag: &str) -> (PathBuf, PathBuf) {
    let root = common::scratch(&format!("files-{tag}"));
    let run = root.join("runs/pa_run");
    copy_dir(&kmindex_fixtures().join("indexes/pa_index"), &run);
    let index = root.join("index");
    std::fs::create_dir_all(&index).unwrap();
    std::os::unix::fs::symlink("../runs/pa_run", index.join("pa")).unwrap();
    let registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture_index().join("index.json")).unwrap())
            .unwrap();
    let only_pa = serde_json::json!({"index": {"pa": registry["index"]["pa"]}, "path": index});
    std::fs::write(
        index.join("index.json"),
        serde_json::to_vec_pretty(&only_pa).unwrap(),
    )
    .unwrap();
    (root, index)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

fn open_error(index: &Path) -> String {
    Index::open(index).unwrap_err().to_string()
}

#[test]
fn relative_symbolic_links_resolve_against_their_folder() {
    let (root, index) = copy_index("link");
    // From another working directory than the link's (kmindex resolves against the cwd).
    let opened = Index::open(&index).unwrap();
    let pa = opened.get("pa").unwrap();
    assert_eq!(pa.dir(), index.join("../runs/pa_run"));
    let seq = "CACGCGATCAGCGGAGTGGTAGCCCACAAAGAGTTGTACTCCCAGGTATCCGACTTCTCTTCGACC";
    assert_eq!(
        pa.query(&[seq.as_bytes()], 0, false).unwrap()[0].ratios[1],
        1.0
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn layout_fingerprints_are_kmindexs_sha1() {
    let index = Index::open(&fixture_index()).unwrap();
    for sub in index.sub_indexes() {
        assert_eq!(sub.fingerprint(), sub.entry().sha1, "{}", sub.name());
    }
}

#[test]
fn compressed_indexes_are_refused_as_unsupported() {
    let (root, index) = copy_index("zstd");
    std::fs::write(root.join("runs/pa_run/compression.cfg"), "").unwrap();
    let err = open_error(&index);
    assert!(
        err.ends_with("compression.cfg: a zstd-compressed index is not supported"),
        "{err}"
    );
    std::fs::remove_file(root.join("runs/pa_run/compression.cfg")).unwrap();

    let matrix = root.join("runs/pa_run/matrices/matrix_2.cmbf");
    let mut bytes = std::fs::read(&matrix).unwrap();
    bytes[12] = 1;
    std::fs::write(&matrix, &bytes).unwrap();
    let err = open_error(&index);
    assert!(
        err.ends_with("matrix_2.cmbf: an lz4-compressed matrix is not supported"),
        "{err}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn damaged_files_are_named_with_what_is_wrong() {
    let (root, index) = copy_index("damaged");
    let run = root.join("runs/pa_run");

    let matrix = run.join("matrices/matrix_1.cmbf");
    let bytes = std::fs::read(&matrix).unwrap();
    std::fs::write(&matrix, &bytes[..bytes.len() - 2]).unwrap();
    let err = open_error(&index);
    assert!(
        err.contains("matrix_1.cmbf: 400047 bytes, expected 400049"),
        "{err}"
    );
    std::fs::write(&matrix, &bytes).unwrap();

    let hash = run.join("hash.info");
    let bytes = std::fs::read(&hash).unwrap();
    std::fs::write(&hash, &bytes[..20]).unwrap();
    let err = open_error(&index);
    assert!(
        err.contains(
            "hash.info: file ends before window_size_bits (8 bytes expected, 4 left) (byte 16)"
        ),
        "{err}"
    );
    std::fs::write(&hash, &bytes).unwrap();

    std::fs::remove_file(run.join("matrices/matrix_3.cmbf")).unwrap();
    let err = open_error(&index);
    assert!(
        err.contains("cannot read") && err.contains("matrix_3.cmbf"),
        "{err}"
    );

    std::fs::write(
        index.join("index.json"),
        "{\"index\": {\"pa\": {\"bloom_size\": 1}}}",
    )
    .unwrap();
    let err = open_error(&index);
    assert!(
        err.contains("index.json: sub-index 'pa': missing field"),
        "{err}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn smers_longer_than_31_are_refused_as_unsupported() {
    let (root, index) = copy_index("k32");
    let path = index.join("index.json");
    let mut registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    registry["index"]["pa"]["smer_size"] = 32.into();
    std::fs::write(&path, registry.to_string()).unwrap();
    let err = open_error(&index);
    assert!(
        err.ends_with("s-mer size 32 (sizes 1 to 31 are) is not supported"),
        "{err}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn the_cli_skips_short_records_with_kmindexs_warning_and_reads_gzip() {
    let dir = common::scratch("cli");
    let seq = "CACGCGATCAGCGGAGTGGTAGCCCACAAAGAGTTGTACTCCCAGGTATCCGACTTCTCTTCGACC";
    let fasta = format!(
        ">long one\n{seq}\n>short\n{}\n>exact\n{}\n",
        &seq[..28],
        &seq[..29]
    );
    let path = dir.join("q.fa.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, fasta.as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let index = fixture_index();
    let (ok, stdout, stderr) = kmviz(&[
        "index",
        "query",
        "--index",
        index.to_str().unwrap(),
        "--name",
        "abs",
        "--fastx",
        path.to_str().unwrap(),
        "--z",
        "4",
        "--format",
        "json_vec",
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("'short' skipped: min size is s+z=29"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let queries: Vec<&String> = doc["abs"].as_object().unwrap().keys().collect();
    assert_eq!(queries, ["exact", "long"]);
    assert_eq!(doc["abs"]["exact"]["D0"]["P"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc["abs"]["long"]["D0"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["C", "P", "R"]
    );
    std::fs::remove_dir_all(dir).unwrap();
}
