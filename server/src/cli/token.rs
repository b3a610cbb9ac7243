//! `kmviz token create|list|revoke`: API tokens in an instance's session store, where every
//! process serving it reads them (a revoked token stops working at once).

use std::path::Path;

use anyhow::bail;

use super::serve::{default_demo_dir, read_instance};
use crate::session::{Place, SessionStore, StoreError};
use crate::token::Token;

/// Where the instance `config` describes keeps its sessions (without: the demo's).
fn place(config: Option<&Path>) -> anyhow::Result<Place> {
    Ok(match config {
        Some(file) => read_instance(file)?.place(),
        None => Place::Folder(default_demo_dir().join("sessions")),
    })
}

/// Runs `work` on the session store of the instance `config` describes.
fn in_store<T>(
    config: Option<&Path>,
    work: impl AsyncFnOnce(&dyn SessionStore) -> Result<T, StoreError>,
) -> anyhow::Result<T> {
    let place = place(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = place.open().await?.store();
        Ok(work(&*store).await?)
    })
}

/// Makes a token named `name` and prints it: the only time its secret is shown.
pub(super) fn create(config: Option<&Path>, name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        bail!("a token's name is 1 to 100 printable characters; got {name:?}");
    }
    let (text, token) = Token::mint(name, crate::jobs::now());
    let id = token.id.clone();
    in_store(config, async |store| store.add_token(token).await)?;
    eprintln!("token {id} ('{name}') made; keep it now, it is not shown again:");
    println!("{text}");
    Ok(())
}

pub(super) fn list(config: Option<&Path>) -> anyhow::Result<()> {
    let tokens = in_store(config, async |store| store.tokens().await)?;
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
    if !in_store(config, async |store| {
        store.revoke_token(id.to_owned()).await
    })? {
        bail!("no token '{id}' (`kmviz token list` names them)");
    }
    eprintln!("token {id} revoked");
    Ok(())
}
