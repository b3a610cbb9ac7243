//! The `kmviz` command line. Raw arguments become validated options here, once; each
//! subcommand then calls the library.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use kmindex::Format;

mod check;
mod index;
mod serve;
mod token;

use check::{check_config, check_plugin, list_plugins};
use index::{build, default_threads, query};
use serve::{default_demo_dir, demo, health, read_instance, serve_config, serve_index};

#[derive(Debug, Parser)]
#[command(
    name = "kmviz",
    version,
    about = "Explore sequence indexes from a browser"
)]
struct Cli {
    /// How log lines are written (on standard error): for people, or one JSON object each
    /// for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the databases of a configuration (without --config: the embedded demo).
    Serve {
        /// The configuration file (TOML, YAML or JSON).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        listen: Listen,
    },
    /// Check a configuration, or print one to start from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Make (or reuse) the demo survey and serve it.
    Demo {
        /// Where the demo's files go (default: the user's data folder, kmviz/demo).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seed of the made-up survey: the same seed gives the same files.
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
        seed: u64,
        #[command(flatten)]
        listen: Listen,
    },
    /// Work with kmindex indexes directly.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Inspect WebAssembly plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Manage API tokens (sent as `Authorization: Bearer …`).
    Token {
        /// The instance's configuration (without: the demo's).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the OpenAPI document of kmviz's HTTP API (as served at /api/openapi.json), for
    /// generating clients.
    Openapi,
    /// Exit 0 when URL answers 2xx within 5 s (a container's health check: the image has no
    /// curl).
    Health {
        #[arg(default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a token and print it (once: only its hash is kept).
    Create { name: String },
    /// List the tokens: id, day made, name.
    List,
    /// Revoke a token by its id: it opens nothing from then on.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Say which of kmviz's interfaces FILE.wasm exports, against which WIT version, and
    /// what it asks the host for.
    Check { file: PathBuf },
    /// List the plugins a configuration declares, with their grants.
    List {
        #[arg(long)]
        config: PathBuf,
    },
    /// Write a new plugin project NAME that builds as it is.
    New {
        /// rust (js, python and c are planned).
        #[arg(long)]
        lang: String,
        name: String,
        /// Where the project's folder goes.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Read FILE, open every database it names, and say what is wrong.
    Check { file: PathBuf },
    /// Print a configuration with every section.
    Template {
        #[arg(long, value_enum, default_value = "toml")]
        format: crate::config::Format,
    },
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
    /// Build a sub-index from FASTA/FASTQ files, in kmindex's format, and register it.
    Build(BuildArgs),
    /// Serve the index with kmindex-server's HTTP API.
    Serve(IndexServeArgs),
}

#[derive(Debug, Args)]
struct IndexServeArgs {
    /// The index directory (holding index.json).
    #[arg(long)]
    index: PathBuf,
    #[command(flatten)]
    listen: Listen,
    /// Largest request body in bytes; larger requests get 413.
    #[arg(long, default_value_t = 64 << 20)]
    max_body_size: usize,
    /// Queries looked up at once (default: the number of cores); more wait their turn.
    #[arg(long)]
    concurrency: Option<usize>,
    /// A TOML file of `user = "password"` pairs: every request then needs HTTP basic
    /// authentication.
    #[arg(long)]
    auth_file: Option<PathBuf>,
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
struct BuildArgs {
    /// kmtricks file of files: `ID: file1 ; file2` per line (paths relative to its folder).
    #[arg(long)]
    fof: PathBuf,
    /// The index directory (created if needed; index.json is created or updated).
    #[arg(long)]
    index: PathBuf,
    /// Name of the new sub-index.
    #[arg(long)]
    name: String,
    /// s-mer size (kmindex's k-mer size), at most 31.
    #[arg(long)]
    kmer_size: usize,
    /// Minimizer size.
    #[arg(long, default_value_t = 10)]
    minim_size: usize,
    /// Rows of the Bloom filter; by default chosen from the data for a 5% false-positive
    /// rate per s-mer in the largest sample.
    #[arg(long)]
    bloom_size: Option<u64>,
    /// Number of partitions.
    #[arg(long, default_value_t = 4)]
    nb_partitions: usize,
    /// Bits per sample: 1 for presence/absence, 2 to 8 for abundance classes.
    #[arg(long, default_value_t = 1)]
    bw: usize,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Args)]
struct Listen {
    /// Address to listen on (the container image sets 0.0.0.0).
    #[arg(long, env = "KMVIZ_ADDRESS", default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "KMVIZ_PORT", default_value_t = 8080)]
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
    init_logging(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMVIZ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        // The request's span (its `request_id`) is in each line's `span` and `spans`.
        LogFormat::Json => logs.json().init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            config: Some(file),
            listen,
        } => serve_config(&file, &listen),
        Command::Serve {
            config: None,
            listen,
        } => demo(default_demo_dir(), crate::demo::DEFAULT_SEED, &listen),
        Command::Config(ConfigCommand::Check { file }) => check_config(&file),
        Command::Health { url } => health(&url),
        Command::Token { config, command } => match command {
            TokenCommand::Create { name } => token::create(config.as_deref(), &name),
            TokenCommand::List => token::list(config.as_deref()),
            TokenCommand::Revoke { id } => token::revoke(config.as_deref(), &id),
        },
        Command::Openapi => {
            println!("{}", crate::api::openapi::document().to_pretty_json()?);
            Ok(())
        }
        Command::Plugin(PluginCommand::Check { file }) => check_plugin(&file),
        Command::Plugin(PluginCommand::List { config }) => list_plugins(&config),
        Command::Plugin(PluginCommand::New { lang, name, dir }) => {
            let made = crate::plugin::template::write(&lang, &name, &dir)?;
            println!(
                "{}: build it with `cargo build --target wasm32-wasip2 --release`",
                made.display()
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Template { format }) => {
            print!("{}", crate::config::template(format));
            Ok(())
        }
        Command::Demo {
            data_dir,
            seed,
            listen,
        } => demo(data_dir.unwrap_or_else(default_demo_dir), seed, &listen),
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
        Command::Index(IndexCommand::Build(args)) => build(&args),
        Command::Index(IndexCommand::Serve(args)) => serve_index(&args),
    }
}
