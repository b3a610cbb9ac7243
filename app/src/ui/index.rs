//! The Index tab: what each sub-index of a database is (k, minimizer size, partitions, Bloom
//! filter size, samples, bits per cell, the expected false-positive rate at the z used) and the
//! database's whole metadata table.

use std::sync::Arc;

use leptos::prelude::*;

use super::api;
use super::table::{TableState, TableView};
use crate::api::DatabaseInfo;
use crate::view::table::Table;

/// `z`: the z the session used with this database, if the provider has one.
#[component]
pub fn IndexTab(database: DatabaseInfo, z: Option<u32>) -> impl IntoView {
    let rows = database
        .indexes
        .iter()
        .map(|index| {
            let kmer = index.smer_size + z.unwrap_or(0) as usize;
            // findere: a k-mer is a false positive when its z + 1 s-mers all are.
            let fpr = match (index.occupancy, z) {
                (Some(p), Some(z)) => format!("{:.2e}", p.powi(z as i32 + 1)),
                (Some(p), None) => format!("{p:.2e} per s-mer"),
                (None, _) => "not known".to_owned(),
            };
            view! {
                <tr data-index=index.name.clone()>
                    <td>{index.name.clone()}</td>
                    <td>{index.smer_size}</td>
                    <td>{kmer}</td>
                    <td>{known(index.minimizer_size)}</td>
                    <td>{known(index.partitions)}</td>
                    <td>{known(index.bloom_size)}</td>
                    <td>{index.samples}</td>
                    <td>{known(index.bits_per_cell)}</td>
                    <td class="fpr">{fpr}</td>
                </tr>
            }
        })
        .collect_view();
    let name = database.name.clone();
    let metadata = LocalResource::new(move || {
        let name = name.clone();
        async move { api::metadata(&name).await }
    });
    let file_name = format!("{}-metadata", database.name);
    let links = database.metadata.links.clone();
    view! {
        <section class="index-info">
            <h2>{format!("{} ({})", database.name, database.provider)}</h2>
            <table class="hits indexes">
                <thead><tr>
                    <th>"sub-index"</th><th>"s"</th><th>{format!("k (s + z{})", z.map(|z| format!(" = {z}")).unwrap_or_default())}</th>
                    <th>"minimizer"</th><th>"partitions"</th><th>"Bloom size"</th><th>"samples"</th>
                    <th>"bits per cell"</th><th>"expected false positives per k-mer"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>"Metadata"</h2>
            <Suspense fallback=|| view! { <p class="hint">"Loading the metadata…"</p> }>
                {move || metadata.get().map(|page| match page {
                    Ok(page) => {
                        let table = Arc::new(Table::of_metadata(page.columns, page.rows));
                        let state = TableState::new();
                        let filtered = state.kept(table.clone());
                        view! { <TableView table=table state=state filtered=filtered name=file_name.clone() links=links.clone() /> }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// A value the provider may not know.
fn known<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| v.to_string())
}
