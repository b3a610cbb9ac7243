//! kmviz's browser app: the [`model`] the browser and the server share (query input, provider
//! option schemas, results and coverage, sessions), the [`api`]'s bodies, and, with the `csr` feature, the Leptos app
//! itself (`ui`), built for `wasm32-unknown-unknown` by `cargo xtask web`. The model has no server
//! or UI dependencies so that the server uses it without compiling Leptos.

pub mod api;
pub mod model;

#[cfg(feature = "csr")]
mod ui;
