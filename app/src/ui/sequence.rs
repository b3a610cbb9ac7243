//! The Sequence view of one sample: its coverage along the query, per k-mer (found or not, or
//! its abundance) or per base (covered or not for presence/absence, mean abundance for
//! abundance indexes), as a chart and as the query's letters shaded by the per-base value.

use leptos::prelude::*;

use crate::model::results::per_base;
use crate::model::session::Hit;

/// `kmer_size`: the length of the k-mers `hit.kmers` stand for; the per-base values are derived
/// here from them.
#[component]
pub fn SequenceView(hit: Hit, query: String, abundance: bool, kmer_size: usize) -> impl IntoView {
    let values = hit.kmers.values();
    let bases = per_base(&values, kmer_size, query.len(), abundance).unwrap_or_default();
    let kmers: Vec<f64> = values.into_iter().map(f64::from).collect();
    let per_kmer = RwSignal::new(false);
    let top = bases.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let chart = {
        let bases = bases.clone();
        move || {
            let values = if per_kmer.get() { &kmers } else { &bases };
            let top = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
            // One step per position, y growing downwards in SVG.
            let points: String = values
                .iter()
                .enumerate()
                .map(|(x, y)| format!("{x},{:.3} {},{:.3}", top - y, x + 1, top - y))
                .collect::<Vec<_>>()
                .join(" ");
            view! {
                <svg class="coverage" data-positions=values.len() viewBox=format!("0 0 {} {top}", values.len().max(1)) preserveAspectRatio="none">
                    <polyline points=points />
                </svg>
            }
        }
    };
    let letters = query
        .chars()
        .zip(bases.iter().copied().chain(std::iter::repeat(0.0)))
        .map(|(letter, value)| {
            let shade = format!("--v:{:.3}", value / top);
            view! { <span class="base" style=shade>{letter.to_string()}</span> }
        })
        .collect_view();
    let measure = if abundance {
        "mean abundance per base"
    } else {
        "covered by a k-mer found"
    };
    view! {
        <section class="sequence" data-sample=hit.id.clone()>
            <h2>{format!("{} — {measure}", hit.id)}</h2>
            <p class="count">
                {format!(
                    "CovXK {:.3}, CovXB {:.3}{}",
                    hit.coverage.cov_xk,
                    hit.coverage.cov_xb,
                    hit.coverage
                        .cov_yb
                        .map(|y| format!(", CovYB {y:.3}"))
                        .unwrap_or_default()
                )}
            </p>
            <div class="level">
                <label><input type="radio" name="level" value="base" prop:checked=move || !per_kmer.get()
                    on:change=move |_| per_kmer.set(false) />" per base"</label>
                <label><input type="radio" name="level" value="kmer" prop:checked=move || per_kmer.get()
                    on:change=move |_| per_kmer.set(true) />" per k-mer"</label>
            </div>
            {chart}
            <p class="letters">{letters}</p>
        </section>
    }
}
