//! kmviz's browser app. For now it holds the [`model`]: the types and checks the browser and the
//! server share (query input, provider option schemas, per-sample results). The model has no
//! server or UI dependencies so that it builds for both the host and `wasm32-unknown-unknown`.

pub mod model;
