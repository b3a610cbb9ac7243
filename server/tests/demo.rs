//! The embedded demo: deterministic from its seed, reused when present, realistic enough that
//! species follow the survey's variables, and served by `kmviz demo`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kmindex::Index;
use kmviz::demo::{self, DEFAULT_SEED, SUB_INDEX};

/// One demo made for the tests that only read it.
fn shared_demo() -> &'static demo::Demo {
    static DEMO: std::sync::OnceLock<demo::Demo> = std::sync::OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo");
        let _ = std::fs::remove_dir_all(&dir);
        demo::prepare(&dir, DEFAULT_SEED, 2).unwrap()
    })
}

/// Every file the demo made under `dir` by relative path (not the sessions a served demo
/// keeps there), with the absolute paths some of them hold blanked.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path == root.join("sessions") {
                continue;
            } else if path.is_dir() {
                walk(root, &path, out);
            } else {
                let text = std::fs::read(&path).unwrap();
                let blanked =
                    String::from_utf8_lossy(&text).replace(root.to_str().unwrap(), "ROOT");
                out.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    blanked.into_bytes(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_same_seed_gives_the_same_files_and_a_second_run_reuses_them() {
    let a = shared_demo().index.parent().unwrap().to_owned();
    let (b, c) = (common::scratch("demo-b"), common::scratch("demo-c"));
    assert!(demo::prepare(&b, DEFAULT_SEED, 1).unwrap().built.is_some());
    let (files_a, files_b) = (files(&a), files(&b));
    assert!(files_a.len() > 200, "{} files", files_a.len());
    assert_eq!(
        files_a.keys().collect::<Vec<_>>(),
        files_b.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &files_a {
        assert!(
            bytes == &files_b[path],
            "{} differs between two runs with the same seed",
            path.display()
        );
    }
    std::fs::create_dir_all(&c).unwrap();
    demo::generate(&c, DEFAULT_SEED + 1).unwrap();
    assert_ne!(
        std::fs::read(c.join("metadata.tsv")).unwrap(),
        files_a[Path::new("metadata.tsv")]
    );

    let modified = std::fs::metadata(a.join("index/index.json"))
        .unwrap()
        .modified()
        .unwrap();
    let again = demo::prepare(&a, DEFAULT_SEED, 2).unwrap();
    assert!(again.built.is_none(), "reused");
    assert_eq!(
        std::fs::metadata(a.join("index/index.json"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    for dir in [b, c] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn species_follow_the_survey_variables() {
    let made = shared_demo();
    let metadata = std::fs::read_to_string(&made.metadata).unwrap();
    let mut lines = metadata.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ID\tLat\tLong\tDepth\tTemp\tDate\tBiome\tLayer"
    );
    let rows: BTreeMap<String, Vec<String>> = lines
        .map(|l| {
            let cells: Vec<String> = l.split('\t').map(str::to_owned).collect();
            (cells[0].clone(), cells)
        })
        .collect();
    assert_eq!(rows.len(), 200);
    assert!(
        rows.values()
            .all(|r| r[1].parse::<f64>().unwrap().abs() <= 90.0
                && r[2].parse::<f64>().unwrap().abs() <= 180.0)
    );

    let index = Index::open(&made.index).unwrap();
    let survey = index.get(SUB_INDEX).unwrap();
    assert_eq!(survey.samples().len(), 200);
    let queries = app::model::query::read_fastx(&std::fs::read(&made.queries).unwrap()).unwrap();
    let mean_temperature_of_hits = |name: &str| {
        let query = queries.iter().find(|q| q.name == name).unwrap();
        let result = &survey.query(&[query.seq.as_bytes()], 3, false).unwrap()[0];
        let temps: Vec<f64> = survey
            .samples()
            .iter()
            .zip(&result.ratios)
            .filter(|(_, r)| **r >= 0.3)
            .map(|(s, _)| rows[s][4].parse::<f64>().unwrap())
            .collect();
        (
            temps.len(),
            temps.iter().sum::<f64>() / temps.len().max(1) as f64,
        )
    };
    let (warm_hits, warm) = mean_temperature_of_hits("warm_cyanobacterium");
    let (polar_hits, polar) = mean_temperature_of_hits("polar_diatom");
    assert!(
        warm_hits >= 5 && warm > 20.0,
        "{warm_hits} stations, {warm} °C"
    );
    assert!(
        polar_hits >= 5 && polar < 8.0,
        "{polar_hits} stations, {polar} °C"
    );
    assert_eq!(mean_temperature_of_hits("absent").0, 0);
}

#[test]
fn kmviz_demo_serves_the_survey() {
    let dir = shared_demo().index.parent().unwrap().to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmviz"))
        .args(["demo", "--data-dir", dir.to_str().unwrap(), "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = stderr
        .by_ref()
        .map(Result::unwrap)
        .find_map(|line| {
            line.strip_prefix("kmviz demo is up. Open ")
                .map(str::to_owned)
        })
        .expect("the demo says where to open it");
    // Keep draining what the server logs.
    std::thread::spawn(move || stderr.for_each(drop));
    // The app first: a browser opens it.
    let base = url.strip_suffix('/').expect("the app's address");
    let info: serde_json::Value = reqwest::blocking_get(&format!("{base}/api/info"));
    common::contract::<app::api::Info>(&info);
    let infos: serde_json::Value = reqwest::blocking_get(&format!("{base}/kmindex/infos"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(infos["index"][SUB_INDEX]["nb_samples"], 200);
    assert_eq!(infos["index"][SUB_INDEX]["bw"], 2);
    let survey = &info["databases"][0];
    assert_eq!(survey["name"], SUB_INDEX);
    assert_eq!(survey["indexes"][0]["samples"], 200);
    assert_eq!(survey["metadata"]["rows"], 200);
    assert_eq!(survey["metadata"]["geodata"]["latitude"], "Lat");
    // Its example queries, for the app's "Try the example".
    assert_eq!(
        info["example"].as_str(),
        Some(
            std::fs::read_to_string(dir.join("queries.fa"))
                .unwrap()
                .as_str()
        )
    );
    // Its presets name its columns and become the app's default figures.
    let presets: app::api::Presets = serde_json::from_value(survey["presets"].clone()).unwrap();
    let plot = presets.plot(presets.default_for("plot").unwrap()).unwrap();
    let map = presets.map(presets.default_for("map").unwrap()).unwrap();
    let columns: Vec<&str> = survey["metadata"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .chain(["CovXK", "CovYK"])
        .collect();
    for named in [&plot.x, &plot.y, &plot.color, &map.color, &map.size] {
        assert!(columns.contains(&named.as_deref().unwrap()), "{named:?}");
    }
    assert_eq!(map.look.title, "Where the query is found");
}

mod reqwest {
    /// GET `url` as JSON from a plain thread (the test has no runtime of its own).
    pub fn blocking_get(url: &str) -> serde_json::Value {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async { ::reqwest::get(url).await.unwrap().json().await.unwrap() })
    }
}
