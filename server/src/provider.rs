//! Providers: what answers a query for a database. For now, kmindex-server over HTTP
//! ([`kmindex_server`]); every kmindex-backed provider publishes the same options.

pub mod kmindex_server;

use app::model::options::{OptionKind, OptionSpec};

/// The options of kmindex-backed providers (kmviz 0.8's, same names and defaults).
pub fn kmindex_options() -> Vec<OptionSpec> {
    vec![
        OptionSpec {
            name: "z".into(),
            help: "findere: index s-mers, query (s+z)-mers; higher z, fewer false positives".into(),
            kind: OptionKind::Range {
                min: 0.0,
                max: 5.0,
                step: 1.0,
                default: 0.0,
            },
        },
        OptionSpec {
            name: "coverage".into(),
            help: "report samples holding at least this fraction of the query's k-mers".into(),
            kind: OptionKind::Range {
                min: 0.0,
                max: 1.0,
                step: 0.05,
                default: 0.1,
            },
        },
    ]
}
