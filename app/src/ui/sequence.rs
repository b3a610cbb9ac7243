//! The Sequence tab: the coverage of up to [`MAX_SAMPLES`] samples along the query, per base
//! (covered or not for presence/absence, mean abundance for abundance indexes) or per k-mer,
//! as a zoomable chart (see [`crate::view::track`]) and as the query's letters shaded by the
//! first sample's per-base values. Samples are opened from the table or picked here by ID.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;

use super::api;
use super::figures::FigureView;
use crate::model::results::per_base;
use crate::model::session::{Hit, PairResult};
use crate::view::figure::FigureError;
use crate::view::track::{Track, coverage_chart, shaded_lines};

/// Samples compared at once.
pub const MAX_SAMPLES: usize = 10;
/// Samples offered by the picker, best first.
const OFFERED: usize = 2000;

/// A sample shown: its hit (with its per-k-mer values) and what they stand for.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    label: String,
    hit: Hit,
    abundance: bool,
    kmer_size: usize,
}

/// `samples`: the hits (rows of the pair's table) shown, the first one shading the letters.
/// `uploaded`: the session comes from a file, its hits carry their values; else they are asked
/// of the server, once each.
#[component]
pub fn SequenceTab(
    result: Arc<PairResult>,
    samples: RwSignal<Vec<usize>>,
    query: String,
    database: String,
    query_seq: String,
    session: String,
    uploaded: bool,
) -> impl IntoView {
    let several_indexes = result.indexes.len() > 1;
    let label = {
        let result = result.clone();
        move |row: usize| {
            let hit = &result.hits[row];
            if several_indexes {
                format!("{} ({})", hit.id, hit.index)
            } else {
                hit.id.clone()
            }
        }
    };
    // The picker's choices, best first.
    let mut best: Vec<usize> = (0..result.hits.len()).collect();
    best.sort_by(|&a, &b| {
        let cov = |r: usize| result.hits[r].coverage.cov_xk;
        cov(b).total_cmp(&cov(a))
    });
    best.truncate(OFFERED);
    let offered: Vec<(usize, String)> = best.into_iter().map(|r| (r, label(r))).collect();
    let list_id = format!("samples-{query}-{database}")
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    let pick = {
        let offered = offered.clone();
        move |text: String| {
            let Some(&(row, _)) = offered.iter().find(|(_, l)| *l == text.trim()) else {
                return;
            };
            samples.update(|shown| {
                if !shown.contains(&row) && shown.len() < MAX_SAMPLES {
                    shown.push(row)
                }
            });
        }
    };

    let fetched: StoredValue<HashMap<usize, Hit>> = StoredValue::new(HashMap::new());
    let loaded = LocalResource::new({
        let (result, label) = (result.clone(), label.clone());
        move || {
            let rows = samples.get();
            let (result, label) = (result.clone(), label.clone());
            let (session, query, database) = (session.clone(), query.clone(), database.clone());
            async move {
                let mut shown = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut hit = result.hits[row].clone();
                    if hit.kmers.is_empty() && !uploaded {
                        hit = match fetched.with_value(|f| f.get(&row).cloned()) {
                            Some(hit) => hit,
                            None => {
                                let full =
                                    api::hit(&session, &query, &database, &hit.index, &hit.id)
                                        .await?;
                                fetched.update_value(|f| {
                                    f.insert(row, full.clone());
                                });
                                full
                            }
                        };
                    }
                    let Some(answer) = result.indexes.iter().find(|i| i.name == hit.index) else {
                        continue;
                    };
                    shown.push(Sample {
                        label: label(row),
                        hit,
                        abundance: answer.abundance,
                        kmer_size: answer.kmer_size,
                    });
                }
                Ok::<_, api::ApiFailure>(shown)
            }
        }
    });

    let chips = {
        let label = label.clone();
        move || {
            samples
                .get()
                .into_iter()
                .map(|row| {
                    let name = label(row);
                    let remove = move |_| samples.update(|shown| shown.retain(|&r| r != row));
                    view! {
                        <li>{name.clone()}
                            <button class="remove" aria-label=format!("Remove {name}") on:click=remove>"✕"</button>
                        </li>
                    }
                })
                .collect_view()
        }
    };
    let query_seq = Arc::new(query_seq);
    view! {
        <div class="sample-picker">
            <label>"Add a sample "
                <input type="search" list=list_id.clone() placeholder="search by ID (best first)"
                    on:change=move |ev| {
                        pick(event_target_value(&ev));
                        event_target::<web_sys::HtmlInputElement>(&ev).set_value("");
                    } />
            </label>
            <datalist id=list_id>
                {offered.into_iter().map(|(_, l)| view! { <option value=l></option> }).collect_view()}
            </datalist>
            <ul class="samples">{chips}</ul>
        </div>
        {move || match (samples.with(Vec::is_empty), loaded.get()) {
            (true, _) => view! { <p class="hint">"Click a sample in the table, or add one here, to see it along the query."</p> }.into_any(),
            (_, None) => view! { <p class="hint">"Loading…"</p> }.into_any(),
            (_, Some(Err(e))) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            (_, Some(Ok(shown))) => view! { <SequenceView samples=shown query=query_seq.clone() /> }.into_any(),
        }}
    }
}

/// The chart of `samples` and the letters shaded by the first one's.
#[component]
fn SequenceView(samples: Vec<Sample>, query: Arc<String>) -> impl IntoView {
    let Some(first) = samples.first() else {
        return ().into_any();
    };
    // Each sample's runs decoded once, for both tracks.
    let (bases, kmers): (Vec<Track>, Vec<Track>) = samples
        .iter()
        .map(|s| {
            let values = s.hit.kmers.values();
            let bases = per_base(&values, s.kmer_size, query.len(), s.abundance);
            let track = |values| Track {
                name: s.label.clone(),
                values,
            };
            (
                track(bases.unwrap_or_default()),
                track(values.into_iter().map(f64::from).collect()),
            )
        })
        .unzip();
    let abundance = samples.iter().all(|s| s.abundance);
    let measure = if abundance {
        "abundance"
    } else if samples.iter().any(|s| s.abundance) {
        "found (presence) or abundance"
    } else {
        "found (1) or not (0)"
    };
    let lines = shaded_lines(&query, &bases[0].values);
    let per_kmer = RwSignal::new(false);
    let chart = Signal::derive(move || {
        let tracks = if per_kmer.get() { &kmers } else { &bases };
        Ok::<_, FigureError>(coverage_chart(tracks, per_kmer.get(), measure).to_string())
    });
    let summary = samples
        .iter()
        .map(|s| {
            let c = &s.hit.coverage;
            view! {
                <tr>
                    <td>{s.label.clone()}</td>
                    <td>{format!("{:.3}", c.cov_xk)}</td>
                    <td>{format!("{:.3}", c.cov_xb)}</td>
                    <td>{c.cov_yb.map(|y| format!("{y:.3}")).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let shading = if first.abundance {
        "mean abundance per base"
    } else {
        "covered by a k-mer found"
    };
    view! {
        <section class="sequence" data-sample=first.hit.id.clone() data-samples=samples.len()>
            <table class="coverage-summary">
                <thead><tr><th>"sample"</th><th>"CovXK"</th><th>"CovXB"</th><th>"CovYB"</th></tr></thead>
                <tbody>{summary}</tbody>
            </table>
            <div class="level" role="radiogroup" aria-label="Values">
                <label><input type="radio" name="level" value="base" prop:checked=move || !per_kmer.get()
                    on:change=move |_| per_kmer.set(false) />" per base"</label>
                <label><input type="radio" name="level" value="kmer" prop:checked=move || per_kmer.get()
                    on:change=move |_| per_kmer.set(true) />" per k-mer"</label>
            </div>
            <FigureView figure=chart name=format!("kmviz-sequence-{}", first.hit.id) />
            <h3>{format!("The query, shaded by {} ({shading})", first.label)}</h3>
            <div class="letters">
                {lines.into_iter().map(|line| view! {
                    <div class="line">
                        <span class="at">{line.start}</span>
                        <span class="bases">
                            {line.stretches.into_iter().map(|(letters, shade)| view! {
                                <span style=format!("--v:{shade:.3}")>{letters}</span>
                            }).collect_view()}
                        </span>
                    </div>
                }).collect_view()}
            </div>
        </section>
    }
    .into_any()
}
