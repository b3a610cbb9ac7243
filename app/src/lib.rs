//! kmviz's browser app: the [`model`] the browser and the server share (query input, provider
//! option schemas, results and coverage, sessions, the results' layout), the JSON API's bodies
//! ([`api`]), what only the browser derives from results to show them ([`view`]: the table,
//! filters, figures), and, with the `csr` feature, the Leptos app itself (`ui`), built for
//! `wasm32-unknown-unknown` by `cargo xtask web`. All but `ui` have no server or UI
//! dependencies: the server uses the model and the bodies without compiling Leptos, and the
//! view is tested natively.

pub mod api;
pub mod model;
pub mod view;

#[cfg(feature = "csr")]
mod ui;
