//! Types the browser and the server share.
//!
//! - [`query`]: reading FASTA/FASTQ (plain or gzip) or a bare sequence into named queries, and the
//!   instance's input limits.
//! - [`options`]: the option schemas a provider publishes, from which the browser renders widgets,
//!   and the checking of the values a user sets.
//! - [`results`]: what a provider answers for one query and one sample, and the coverage derived
//!   from it (formulas documented there).
//! - [`session`]: a stored session: queries, databases, job state and joined results.
//! - [`table`]: the one layout of a pair's results (the app's table, the TSVs, the Arrow
//!   stream).
//! - [`plugins`]: the analysis tabs and the branding plugins add.

pub mod options;
pub mod plugins;
pub mod query;
pub mod results;
pub mod session;
pub mod table;
