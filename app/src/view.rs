//! What the browser derives from results to show them; only the app uses it (the server lays
//! results out by [`crate::model::table`]). Plain Rust, tested natively.
//!
//! - [`table`]: a pair's results as the app's table: cells, order, column filters, export.
//! - [`filter`]: row filters written like an SQL `WHERE` clause.
//! - [`figure`]: Plotly figures (plots and maps) built from a table and the user's choices.
//! - [`track`]: the Sequence tab's coverage chart and shaded letters.

pub mod figure;
pub mod filter;
pub mod table;
pub mod track;
