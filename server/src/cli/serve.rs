//! Serving: a configuration, the demo, an index (kmindex-server's API); the health probe.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kmindex::Index;

use super::*;

/// `$XDG_DATA_HOME/kmviz/demo`, else `~/.local/share/kmviz/demo`, else `./kmviz-demo`.
pub(super) fn default_demo_dir() -> PathBuf {
    match crate::instance::user_data_dir() {
        Some(data) => data.join("kmviz/demo"),
        None => PathBuf::from("kmviz-demo"),
    }
}

pub(super) fn demo(data_dir: PathBuf, seed: u64, listen: &Listen) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let demo = crate::demo::prepare(&data_dir, seed, default_threads())
        .with_context(|| format!("cannot prepare the demo in {}", data_dir.display()))?;
    match &demo.built {
        Some(report) => tracing::info!(
            "demo survey made in {} ({} samples, {} bases) in {:.1} s",
            data_dir.display(),
            report.entry.nb_samples,
            report.bases,
            started.elapsed().as_secs_f64()
        ),
        None => tracing::info!("reusing the demo survey in {}", data_dir.display()),
    }
    let index = Arc::new(Index::open(&demo.index)?);
    let instance = crate::instance::Instance::demo(&demo, &data_dir);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let app = crate::App::open(instance).await?.with_kmindex(index);
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        let base = base_url(&listener)?;
        eprintln!("\nkmviz demo is up. Open {base}/");
        eprintln!("API: {base}/api/info (described at {base}/api/openapi.json)");
        eprintln!("Metadata: {}", demo.metadata.display());
        eprintln!("Example queries: {}", demo.queries.display());
        if let Some(example) = first_query(&demo.queries) {
            eprintln!(
                "Query it: curl -s {base}/api/query -H 'content-type: application/json' -d '{{\"fastx\":\">{}\\n{}\",\"databases\":[\"{}\"]}}'",
                example.name,
                example.seq,
                crate::demo::SUB_INDEX,
            );
            eprintln!("then: curl -s {base}/api/sessions/<session>\n");
        }
        app.serve(listener, crate::stop_signal()).await?;
        Ok(())
    })
}

pub(super) fn first_query(path: &Path) -> Option<app::model::query::Query> {
    let text = std::fs::read(path).ok()?;
    app::model::query::read_fastx(&text)
        .ok()?
        .into_iter()
        .next()
}

pub(super) fn health(url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let response = client.get(url).send().await?;
        if !response.status().is_success() {
            bail!("{url}: {}", response.status());
        }
        Ok(())
    })
}

/// The address to open the server at: a wildcard one (`0.0.0.0`, `::`) is not one a browser
/// can open, so it becomes loopback.
pub(super) fn base_url(listener: &tokio::net::TcpListener) -> std::io::Result<String> {
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{address}"))
}

pub(super) fn read_instance(file: &Path) -> anyhow::Result<crate::instance::Instance> {
    let config = crate::config::Config::read(file)?;
    for warning in config.warnings() {
        tracing::warn!("{}: {warning}", file.display());
    }
    let base = file.parent().unwrap_or(Path::new("."));
    crate::instance::Instance::from_config(&config, base)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

pub(super) fn serve_config(file: &Path, listen: &Listen) -> anyhow::Result<()> {
    let instance = read_instance(file)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let app = crate::App::open(instance).await?;
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        eprintln!("kmviz is up. Open {}/", base_url(&listener)?);
        app.serve(listener, crate::stop_signal()).await?;
        Ok(())
    })
}

pub(super) fn serve_index(args: &IndexServeArgs) -> anyhow::Result<()> {
    let dir = &args.index;
    let index = Index::open(dir).with_context(|| format!("cannot open index {}", dir.display()))?;
    let names: Vec<&str> = index.sub_indexes().map(|s| s.name()).collect();
    if names.is_empty() {
        bail!("{} registers no sub-index", dir.display());
    }
    tracing::info!("serving {} ({})", dir.display(), names.join(", "));
    let limits = crate::api::kmindex::Limits {
        max_body: args.max_body_size,
        concurrency: args
            .concurrency
            .unwrap_or(crate::api::kmindex::Limits::default().concurrency),
    };
    let mut router = crate::api::kmindex::router(Arc::new(index), limits);
    if let Some(path) = &args.auth_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let users: std::collections::BTreeMap<String, String> = toml::from_str(&text)
            .with_context(|| format!("{}: expected `user = \"password\"` pairs", path.display()))?;
        if users.is_empty() {
            bail!("{} names no user", path.display());
        }
        router = crate::api::auth::require_basic_auth(router, users);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listen = &args.listen;
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        crate::serve(listener, router, crate::stop_signal(), async {}).await?;
        Ok(())
    })
}
