//! Checking what an operator gives: a configuration (its databases opened), plugins.

use std::path::Path;

use anyhow::bail;

use super::*;

pub(super) fn check_config(file: &Path) -> anyhow::Result<()> {
    let instance = read_instance(file)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let plugins = instance.load_plugins()?;
    runtime.block_on(async {
        let mut failed = 0;
        let context = crate::registry::Context {
            plugins: &plugins,
            local: &Default::default(),
            timeout: std::time::Duration::from_secs(instance.engine.timeout.min(10)),
        };
        for spec in instance.databases {
            let name = spec.name.clone();
            match crate::engine::Database::open(spec, &context).await {
                Ok(database) => match database.provider.indexes().await {
                    Ok(indexes) => println!(
                        "{name}: ok ({} {}, metadata {} columns)",
                        database.provider.kind(),
                        indexes
                            .iter()
                            .map(|i| format!("{}: {} samples", i.name, i.samples))
                            .collect::<Vec<_>>()
                            .join(", "),
                        database.metadb.schema().fields().len()
                    ),
                    Err(e) => {
                        failed += 1;
                        println!("{name}: {e}");
                    }
                },
                Err(e) => {
                    failed += 1;
                    println!("{e}");
                }
            }
        }
        if failed > 0 {
            bail!("{}: {failed} database(s) cannot be used", file.display());
        }
        println!("{}: ok", file.display());
        Ok(())
    })
}

pub(super) fn check_plugin(file: &Path) -> anyhow::Result<()> {
    let cache = std::env::temp_dir().join(format!("kmviz-plugin-check-{}", std::process::id()));
    let inspected = crate::plugin::inspect(file, &cache);
    let _ = std::fs::remove_dir_all(&cache);
    let inspected = inspected?;
    println!("{}: a WebAssembly component", file.display());
    let ours: Vec<&String> = inspected
        .exports
        .iter()
        .filter(|e| e.starts_with("kmviz:plugin/"))
        .collect();
    for export in &ours {
        println!("  exports {export}");
    }
    let asks: Vec<&str> = inspected
        .imports
        .iter()
        .filter_map(|i| crate::plugin::capability(i))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "  asks for: {}",
        if asks.is_empty() {
            "nothing".to_owned()
        } else {
            asks.join(", ")
        }
    );
    let wanted = format!("@{}", crate::plugin::WIT_VERSION);
    if ours.is_empty() {
        bail!(
            "{} exports none of kmviz's interfaces (kmviz:plugin/provider{wanted}, …)",
            file.display()
        );
    }
    if let Some(other) = ours.iter().find(|e| !e.ends_with(&wanted)) {
        bail!("{other} is not the WIT version this kmviz loads ({wanted})");
    }
    println!("  loads in this kmviz (kmviz:plugin{wanted})");
    Ok(())
}

pub(super) fn list_plugins(config: &Path) -> anyhow::Result<()> {
    let instance = read_instance(config)?;
    if instance.plugins.is_empty() {
        println!("{}: no WebAssembly plugins", config.display());
    }
    for plugin in &instance.plugins {
        let g = &plugin.grants;
        println!("{}: {}", plugin.name, plugin.wasm.display());
        println!(
            "  http: {}",
            if g.allow_http.is_empty() {
                "none".to_owned()
            } else {
                g.allow_http.join(", ")
            }
        );
        println!(
            "  folders (read-only): {}",
            if g.dirs.is_empty() {
                "none".to_owned()
            } else {
                g.dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        println!(
            "  environment: {}",
            if g.env.is_empty() {
                "none".to_owned()
            } else {
                g.env.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        );
        println!(
            "  memory {} MB, {} ms per call, {} calls at once",
            g.memory_mb, g.timeout_ms, g.concurrency
        );
    }
    Ok(())
}
