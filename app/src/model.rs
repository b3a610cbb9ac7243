//! Types the browser and the server share.
//!
//! - [`query`]: reading FASTA/FASTQ (plain or gzip) or a bare sequence into named queries, and the
//!   instance's input limits.
//! - [`options`]: the option schemas a provider publishes, from which the browser renders widgets,
//!   and the checking of the values a user sets.
//! - [`results`]: what a provider answers for one query and one sample, and the coverage derived
//!   from it (formulas documented there).
//! - [`filter`]: row filters written like an SQL `WHERE` clause, evaluated in the browser.
//! - [`session`]: a stored session: queries, databases, job state and joined results.
//! - [`table`]: a pair's results as the app's table: cells, order, column filters, export.
//! - [`figure`]: Plotly figures (plots and maps) built from a table and the user's choices.
//! - [`plugins`]: the analysis tabs and the branding plugins add.

pub mod figure;
pub mod filter;
pub mod options;
pub mod plugins;
pub mod query;
pub mod results;
pub mod session;
pub mod table;
