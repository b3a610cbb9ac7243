//! kmviz's browser app: the [`model`] the browser and the server share (query input, provider
//! option schemas, results and coverage, sessions, the results' layout), the JSON API's bodies
//! ([`api`]), what only the browser derives from results to show them ([`view`]: the table,
//! filters, figures), and the Leptos app itself ([`ui`]): with `ssr` the server renders its page,
//! with `hydrate` (built for `wasm32-unknown-unknown` by `cargo xtask web`) the browser takes
//! that page over. All but `ui` have no server or UI dependencies, and the view is tested
//! natively.

// The app's view types nest deeper than the compiler's default limit.
#![recursion_limit = "256"]

pub mod api;
pub mod model;
pub mod view;

#[cfg(feature = "ui")]
pub mod ui;
