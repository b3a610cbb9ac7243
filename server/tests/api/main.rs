//! kmviz's JSON API end to end, over real HTTP on loopback: the kmindex fixtures as providers,
//! metadata in TSV, SQLite, Parquet and a real MariaDB written by the tests, kmindex's own
//! outputs as the oracle.

#[path = "../common/mod.rs"]
mod common;
mod info;
mod mail;
mod mcp;
mod owners;
mod providers;
mod refusals;
mod results;
mod sessions;
mod support;
