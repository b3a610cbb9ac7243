//! kmviz-c-tools: the two steps of building a C plugin that otherwise need `wit-bindgen-cli` and
//! `wasm-tools` (each ~25 min to `cargo install`): this links only the libraries doing the work.
//!
//!   kmviz-c-tools bindings WIT_DIR WORLD OUT_DIR
//!       writes WORLD.h, WORLD.c and WORLD_component_type.o (`wit-bindgen c`, UTF-8 strings)
//!   kmviz-c-tools component CORE.wasm OUT.wasm
//!       wraps a wasm32-wasi (preview 1) reactor module into a WASI 0.2 component with the
//!       preview-1 adapter of wasmtime 48 (`wasm-tools component new --adapt`)

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::{Files, wit_parser::Resolve};

const USAGE: &str = "usage:
  kmviz-c-tools bindings WIT_DIR WORLD OUT_DIR   C bindings for WORLD of the WIT in WIT_DIR
  kmviz-c-tools component CORE.wasm OUT.wasm     componentize with the preview-1 reactor adapter";

fn bindings(wit: &Path, world: &str, out: &Path) -> Result<()> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_path(wit).with_context(|| format!("reading {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;
    let mut files = Files::default();
    wit_bindgen_c::Opts::default().build().generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    for (name, bytes) in files.iter() {
        let path = out.join(name);
        // Rewrite only what changed, so make-like rebuilds stay quiet.
        if std::fs::read(&path).ok().as_deref() != Some(bytes) {
            std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
        }
    }
    Ok(())
}

fn component(core: &Path, out: &Path) -> Result<()> {
    let module = std::fs::read(core).with_context(|| core.display().to_string())?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("the module carries no component type: link the bindings' *_component_type.o")?
        .validate(true)
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)?
        .encode()
        .context("componentizing")?;
    std::fs::write(out, component).with_context(|| out.display().to_string())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["bindings", wit, world, out] => bindings(wit.as_ref(), world, out.as_ref()),
        ["component", core, out] => component(core.as_ref(), out.as_ref()),
        ["--version"] => {
            println!("kmviz-c-tools {} (wit-bindgen-c 0.61.1, adapter of wasmtime 48.0.8)", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        ["-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}
