//! Configuration files: kmviz 0.8's examples load, mistakes are named with their place, and the
//! `kmviz config` commands work on real files.

mod common;

use std::any::Any;
use std::path::{Path, PathBuf};

use common::{fixture_index, kmviz};
use kmviz::config::{Config, Format};
use kmviz::metadb::tsv;
use kmviz::provider::{kmindex, kmindex_server};

fn temp_dir(tag: &str) -> PathBuf {
    common::scratch(&format!("config-{tag}"))
}

/// kmviz 0.8's documented YAML example (`kmviz config template -s all --fmt yaml`), with its
/// preselected database named as the one it defines (the example names `ExDB`, which it lacks).
const KMVIZ_08_YAML: &str = r#"api:
  enabled: false
  limits:
    alphabet: all
    max_query: 4294967296
    max_query_size: 4294967296
    max_size: 4294967296
  query_route: /query
  route: /api
assets: []
auth:
  ex_user: ex_password
cache:
  manager:
    params:
      directory: .kmviz/manager
    type: disk
  result:
    params:
      cache_dir: .kmviz/result
      default_timeout: 86400
      threshold: 0
    type: disk
databases:
  ExampleDB:
    defaults:
      coverage:
        hide: false
        value: 0.1
      z:
        hide: true
        value: 2
    metadata:
      params:
        geodata:
          latitude: Lat
          longitude: Long
        idx: Sample
        path: ./metadata.tsv
        sep: "\t"
      type: tsv
    params:
      port: 8080
      url: 127.0.0.1
    presets: ./presets.toml
    type: kmindex-server
default:
  configuration: ExampleDB
  database:
  - ExampleDB
  hide: false
html:
  metatags:
    description: kmviz ex description
  template: template.html
input:
  alphabet: all
  max_query: 4294967296
  max_query_size: 4294967296
  max_size: 4294967296
plugins:
  kmviz_example: {}
"#;

/// kmviz 0.8's documented TOML example, with a kmindex-cli database and its SQLite metadata.
const KMVIZ_08_TOML: &str = r#"preset = "fixed"

[databases.ExampleDB]
type = "kmindex-server"
presets = "./presets.toml"

[databases.ExampleDB.params]
url = "127.0.0.1"
port = 8080

[databases.ExampleDB.defaults.z]
value = 2
hide = true
[databases.ExampleDB.defaults.coverage]
value = 0.1
hide = false

[databases.ExampleDB.metadata]
type = "tsv"
[databases.ExampleDB.metadata.params]
path = "./metadata.tsv"
sep = " "
idx = "Sample"
[databases.ExampleDB.metadata.params.geodata]
latitude = "Lat"
longitude = "Long"

[databases.Local]
type = "kmindex-cli"
[databases.Local.params]
index_path = "index"
executable = "/usr/bin/kmindex"
[databases.Local.metadata]
type = "sqlite"
[databases.Local.metadata.params]
path = "metadata.sqlite"
table = "samples"
idx = "ID"

[default]
database = "ExampleDB"

[cache.result]
type = "disk"
[cache.result.params]
cache_dir = ".kmviz/result"

[input]
max_query_size = 4294967296
max_size = 4294967296
max_query = 4294967296
alphabet = "all"

[ui]
with_index_tab = false
with_sequence_tab = false

[auth]
username = "password"

[api]
enabled = false
route = "/api"
query_route = "/query"
"#;

/// kmviz 0.8's presets example.
const PRESETS: &str = r#"priority = true
[map.preset_1]
color = "CovXK"
template = "ggplot2"
[map.preset_1.title]
title_text = "TEST"
title_x = 0.5
[plot.preset_1]
type = "Scatter"
X = ["CovXK"]
Y = ["CovXB"]
[defaults]
map = "preset_1"
plot = "preset_1"
"#;

#[test]
fn kmviz_08_examples_load() {
    let dir = temp_dir("examples");
    std::fs::write(dir.join("presets.toml"), PRESETS).unwrap();
    for (name, text) in [("kmviz.yaml", KMVIZ_08_YAML), ("kmviz.toml", KMVIZ_08_TOML)] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let config = Config::read(&path).unwrap();
        let databases = config.databases(&dir).unwrap();
        let example = databases.iter().find(|d| d.name == "ExampleDB").unwrap();
        let provider: &dyn Any = &*example.provider;
        assert_eq!(
            provider.downcast_ref(),
            Some(&kmindex_server::Configured {
                url: "http://127.0.0.1:8080".into()
            })
        );
        let metadb: &dyn Any = &*example.metadb;
        let tsv: &tsv::Configured = metadb.downcast_ref().unwrap();
        assert_eq!(
            (tsv.path.as_path(), tsv.idx.as_str()),
            (dir.join("./metadata.tsv").as_path(), "Sample")
        );
        assert_eq!(tsv.geodata.as_ref().unwrap().latitude, "Lat");
        assert!(example.defaults["z"].hide);
        assert_eq!(
            example.presets.as_ref().unwrap().plot["preset_1"]["type"],
            "Scatter"
        );
        assert_eq!(config.default.database, ["ExampleDB"]);
        assert_eq!(config.input.max_query, 4294967296);
        let warnings = config.warnings().join("\n");
        assert!(warnings.contains("'cache'"), "{warnings}");
        assert!(warnings.contains("api.enabled"), "{warnings}");
        if name.ends_with("toml") {
            assert!(warnings.contains("databases.Local.params.executable is ignored"));
            let local = databases.iter().find(|d| d.name == "Local").unwrap();
            let provider: &dyn Any = &*local.provider;
            assert_eq!(
                provider.downcast_ref(),
                Some(&kmindex::Configured {
                    index_path: dir.join("index")
                })
            );
            assert!(!config.ui.with_index_tab);
        } else {
            assert!(warnings.contains("'html'"), "{warnings}");
            assert!(
                warnings.contains("plugins.kmviz_example: a kmviz 0.8 (Python) plugin is ignored"),
                "{warnings}"
            );
        }
    }
}

fn error_of(text: &str, file: &str) -> String {
    let dir = temp_dir(file);
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    match Config::read(&path).and_then(|c| {
        c.databases(&dir).map_err(
            |kmviz::config::Invalid(message)| kmviz::config::ConfigError {
                file: path.display().to_string(),
                message,
            },
        )
    }) {
        Ok(_) => panic!("{file} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn mistakes_are_named_with_their_place() {
    let base = "[databases.A]\ntype = \"kmindex\"\nparams = { index_path = \"i\" }\n\
                metadata = { type = \"tsv\", params = { path = \"m.tsv\", idx = \"ID\" } }\n";
    let e = error_of(&format!("{base}[input]\nmax_qeury = 3\n"), "a.toml");
    assert!(
        e.contains("a.toml: input.max_qeury: TOML parse error at line 6"),
        "{e}"
    );
    assert!(
        e.contains("unknown field `max_qeury`, expected one of `max_query`"),
        "{e}"
    );
    let e = error_of(&base.replace("index_path", "index_pth"), "b.toml");
    assert!(
        e.contains("databases.A.params.index_pth: unknown field `index_pth`"),
        "{e}"
    );
    let e = error_of(&base.replace("\"kmindex\"", "\"kmindx\""), "c.toml");
    assert!(
        e.contains("databases.A.type: unknown provider type 'kmindx'"),
        "{e}"
    );
    let e = error_of(&base.replace("\"tsv\"", "\"xlsx\""), "d.toml");
    assert!(
        e.contains("databases.A.metadata.type: unknown MetaDB type 'xlsx'"),
        "{e}"
    );
    let e = error_of(&format!("{base}[default]\ndatabase = [\"B\"]\n"), "e.toml");
    assert!(
        e.contains("default.database: no database 'B' (known: A)"),
        "{e}"
    );
    let e = error_of("{\"databases\": {}, \"engin\": {}}", "f.json");
    assert!(
        e.contains("engin: unknown field `engin`") && e.contains("line 1"),
        "{e}"
    );
    let e = error_of(
        "databases:\n  A:\n    type: kmindex\n    parms: {}\n",
        "g.yaml",
    );
    assert!(
        e.contains("g.yaml: databases.A: unknown field `parms`") && e.contains("line 4"),
        "{e}"
    );
    let e = error_of("auth = [\"alice\"]\n[databases]\n", "h.toml");
    assert!(e.contains("keyring user names are not supported"), "{e}");
    let e = error_of(
        &base.replace(
            "idx = \"ID\" } }",
            "idx = \"ID\" }, links = { ID = \"javascript:alert({})\" } }",
        ),
        "j.toml",
    );
    assert!(
        e.contains("databases.A.metadata.links.ID: 'javascript:alert({})' is not an http(s) URL"),
        "{e}"
    );
    let e = error_of("[databases]\n", "i.ini");
    assert!(e.contains("must end in .toml, .yaml, .yml or .json"), "{e}");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_check_opens_every_database_and_template_loads_in_every_format() {
    let dir = temp_dir("cli");
    write(&dir, "meta.tsv", "ID\tLat\tLong\nD0\t1.5\t2\nD1\t3\t4\n");
    let good = write(
        &dir,
        "good.toml",
        &format!(
            "[databases.A]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
             metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"ID\", \
             geodata = {{ latitude = \"Lat\", longitude = \"Long\" }} }} }}\n",
            fixture_index().display()
        ),
    );
    let (ok, stdout, stderr) = kmviz(&["config", "check", good.to_str().unwrap()]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("A: ok (kmindex abs: 16 samples, pa: 16 samples"),
        "{stdout}"
    );

    let bad = write(
        &dir,
        "bad.toml",
        "[databases.A]\ntype = \"kmindex\"\nparams = { index_path = \"nowhere\" }\n\
         metadata = { type = \"tsv\", params = { path = \"meta.tsv\", idx = \"Sample\" } }\n",
    );
    let (ok, stdout, stderr) = kmviz(&["config", "check", bad.to_str().unwrap()]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(!ok);
    assert!(stdout.contains("database 'A': index"), "{stdout}");
    assert!(stderr.contains("1 database(s) cannot be used"), "{stderr}");

    let no_id = write(
        &dir,
        "no_id.toml",
        &format!(
            "[databases.A]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
             metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"Sample\" }} }}\n",
            fixture_index().display()
        ),
    );
    let (ok, stdout, _) = kmviz(&["config", "check", no_id.to_str().unwrap()]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(!ok);
    assert!(
        stdout.contains("no id column 'Sample'; the columns are: ID, Lat, Long"),
        "{stdout}"
    );

    // Cell links must name a column the metadata has.
    let link = |column: &str| {
        format!(
            "[databases.A]\ntype = \"kmindex\"\nparams = {{ index_path = \"{}\" }}\n\
             metadata = {{ type = \"tsv\", params = {{ path = \"meta.tsv\", idx = \"ID\" }}, \
             links = {{ {column} = \"https://example.org/{{}}\" }} }}\n",
            fixture_index().display()
        )
    };
    let linked = write(&dir, "linked.toml", &link("Lat"));
    let (ok, stdout, stderr) = kmviz(&["config", "check", linked.to_str().unwrap()]);
    assert!(ok, "{}{stderr}", String::from_utf8_lossy(&stdout));
    let mislinked = write(&dir, "mislinked.toml", &link("Latitude"));
    let (ok, stdout, _) = kmviz(&["config", "check", mislinked.to_str().unwrap()]);
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(!ok);
    assert!(
        stdout.contains("database 'A': metadata.links: no column 'Latitude'"),
        "{stdout}"
    );

    for (format, ext) in [("toml", "toml"), ("yaml", "yaml"), ("json", "json")] {
        let (ok, text, stderr) = kmviz(&["config", "template", "--format", format]);
        assert!(ok, "{stderr}");
        let text = String::from_utf8(text).unwrap();
        let path = write(&dir, &format!("template.{ext}"), &text);
        let config = Config::read(&path).unwrap();
        assert_eq!(
            Format::of(&path).unwrap(),
            match ext {
                "toml" => Format::Toml,
                "yaml" => Format::Yaml,
                _ => Format::Json,
            }
        );
        let databases = config.databases(&dir).unwrap();
        assert_eq!(databases.len(), 2);
    }
}

#[test]
fn example_queries_are_read_and_checked_at_start() {
    let dir = temp_dir("example");
    write(&dir, "queries.fa", ">q1\nACGTACGT\n");
    write(&dir, "notes.txt", "@r1\nACGT\n+\nII\n");
    let instance = |example: &str| {
        let path = write(
            &dir,
            "kmviz.toml",
            &format!("[databases]\n[ui]\nexample = \"{example}\"\n"),
        );
        kmviz::instance::Instance::from_config(&Config::read(&path).unwrap(), &dir)
    };
    let good = instance("queries.fa").unwrap();
    assert_eq!(good.settings.example.as_deref(), Some(">q1\nACGTACGT\n"));
    let kmviz::config::Invalid(bad) = instance("notes.txt").unwrap_err();
    assert!(
        bad.starts_with("ui.example ") && bad.contains("notes.txt"),
        "{bad}"
    );
    let kmviz::config::Invalid(missing) = instance("absent.fa").unwrap_err();
    assert!(missing.contains("absent.fa"), "{missing}");
}
