//! kmviz's browser app: the [`model`] the browser and the server share (query input, provider
//! option schemas, results and coverage, sessions), the JSON API's bodies ([`api`]), and, with
//! the `csr` feature, the Leptos app itself (`ui`), built for `wasm32-unknown-unknown` by
//! `cargo xtask web`. The model and the bodies have no server or UI dependencies so that the
//! server uses them without compiling Leptos.

pub mod api;
pub mod model;

#[cfg(feature = "csr")]
mod ui;
