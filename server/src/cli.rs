//! The `kmviz` command line. Raw arguments become validated options here, once; each
//! subcommand then calls the library.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::kmindex::{self, Format, Index};

#[derive(Debug, Parser)]
#[command(
    name = "kmviz",
    version,
    about = "Explore sequence indexes from a browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with kmindex indexes directly.
    #[command(subcommand)]
    Index(IndexCommand),
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Print an index's registry (index.json), as `kmindex index-infos` does.
    Infos {
        /// The index directory (holding index.json).
        #[arg(long)]
        index: PathBuf,
    },
    /// Query one sub-index; prints what `kmindex query` writes into its output file.
    Query(QueryArgs),
    /// Serve the index with kmindex-server's HTTP API.
    Serve {
        /// The index directory (holding index.json).
        #[arg(long)]
        index: PathBuf,
        #[command(flatten)]
        listen: Listen,
    },
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// The index directory (holding index.json).
    #[arg(long)]
    index: PathBuf,
    /// The sub-index to query.
    #[arg(long)]
    name: String,
    /// FASTA/FASTQ file, plain or gzip; each record is one query.
    #[arg(long)]
    fastx: PathBuf,
    /// findere's z: index s-mers, query (s+z)-mers.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    z: u8,
    /// Report samples holding at least this fraction of a query's k-mers.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    r: f64,
    /// Output format: json, json_vec or tsv.
    #[arg(long, default_value = "json")]
    format: Format,
}

#[derive(Debug, Args)]
struct Listen {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    let r: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is not in [0.0, 1.0]"))
    }
}

/// Runs the command line; errors are printed on standard error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMVIZ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Index(IndexCommand::Infos { index }) => {
            let registry = kmindex::registry::Registry::read(&index)?;
            println!("{}", registry.document.pretty());
            Ok(())
        }
        Command::Index(IndexCommand::Query(args)) => {
            let text = query(&args)?;
            print!("{text}");
            Ok(())
        }
        Command::Index(IndexCommand::Serve { index, listen }) => serve_index(&index, &listen),
    }
}

/// `kmindex query` for one sub-index, one thread: records shorter than s + z are skipped with a
/// warning, a record without a name ends the input (kmindex's end-of-queue marker), and no
/// record at all writes nothing.
fn query(args: &QueryArgs) -> anyhow::Result<String> {
    let index = Index::open_only(&args.index, std::slice::from_ref(&args.name))?;
    let sub = index.get(&args.name).expect("opened above");
    let input = std::fs::read(&args.fastx)
        .with_context(|| format!("cannot read {}", args.fastx.display()))?;
    let records = app::model::query::read_fastx(&input)
        .with_context(|| format!("cannot read queries from {}", args.fastx.display()))?;
    let z = usize::from(args.z);
    let min = sub.smer_size() + z;
    let mut kept = Vec::with_capacity(records.len());
    for (number, record) in records.iter().enumerate() {
        if record.seq.len() < min {
            tracing::warn!("'{}' skipped: min size is s+z={min}", record.name);
            continue;
        }
        if record.name.is_empty() {
            tracing::warn!(
                "record {} has no name: kmindex stops reading there, so does kmviz",
                number + 1
            );
            break;
        }
        kept.push(record);
    }
    if kept.is_empty() {
        tracing::warn!("no query to answer");
        return Ok(String::new());
    }
    let seqs: Vec<&[u8]> = kept.iter().map(|q| q.seq.as_bytes()).collect();
    let names: Vec<&str> = kept.iter().map(|q| q.name.as_str()).collect();
    let results = sub.query(&seqs, z, args.format.needs_positions())?;
    Ok(kmindex::output::records(
        sub,
        &names,
        &results,
        args.format,
        args.r,
    ))
}

fn serve_index(dir: &Path, listen: &Listen) -> anyhow::Result<()> {
    let index = Index::open(dir).with_context(|| format!("cannot open index {}", dir.display()))?;
    let names: Vec<&str> = index.sub_indexes().map(|s| s.name()).collect();
    if names.is_empty() {
        bail!("{} registers no sub-index", dir.display());
    }
    tracing::info!("serving {} ({})", dir.display(), names.join(", "));
    let router = crate::api::kmindex::router(Arc::new(index));
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = crate::bind(SocketAddr::new(listen.address, listen.port)).await?;
        crate::serve(listener, router).await?;
        Ok(())
    })
}
