//! `kmviz token create|list|revoke`: API tokens in an instance's session store, where every
//! process serving it reads them (a revoked token stops working at once).

use std::path::Path;

use anyhow::bail;

use super::serve::{default_demo_dir, read_instance};
use crate::session::{SessionStore, SqliteStore};
use crate::token::Token;

/// The store of the instance `config` describes (without: the demo's).
fn store(config: Option<&Path>) -> anyhow::Result<SqliteStore> {
    let data_dir = match config {
        Some(file) => read_instance(file)?.data_dir,
        None => default_demo_dir().join("sessions"),
    };
    Ok(SqliteStore::open(&data_dir)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Makes a token named `name` and prints it: the only time its secret is shown.
pub(super) fn create(config: Option<&Path>, name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        bail!("a token's name is 1 to 100 printable characters; got {name:?}");
    }
    let (text, token) = Token::mint(name, crate::jobs::now());
    let id = token.id.clone();
    runtime()?.block_on(store(config)?.add_token(token))?;
    eprintln!("token {id} ('{name}') made; keep it now, it is not shown again:");
    println!("{text}");
    Ok(())
}

pub(super) fn list(config: Option<&Path>) -> anyhow::Result<()> {
    let tokens = runtime()?.block_on(store(config)?.tokens())?;
    if tokens.is_empty() {
        eprintln!("no tokens");
    }
    for token in tokens {
        let day = crate::demo::civil_date((token.created / 86_400) as i64);
        println!("{}\t{day}\t{}", token.id, token.name);
    }
    Ok(())
}

pub(super) fn revoke(config: Option<&Path>, id: &str) -> anyhow::Result<()> {
    if !runtime()?.block_on(store(config)?.revoke_token(id.to_owned()))? {
        bail!("no token '{id}' (`kmviz token list` names them)");
    }
    eprintln!("token {id} revoked");
    Ok(())
}
