//! The Help tab.

use leptos::prelude::*;

use crate::api::Info;

/// kmviz's help, then the instance plugins' (sanitised by the server).
#[component]
pub fn HelpTab() -> impl IntoView {
    let plugins = use_context::<Info>().and_then(|info| {
        let help = info.branding?.help;
        (!help.is_empty()).then(|| view! { <div class="plugin-help" inner_html=help></div> })
    });
    view! {
        <section class="help">
            <h2>"Using kmviz"</h2>
            <p>"Choose databases, give queries (typed, pasted, or a FASTA/FASTQ file, gzip or not), set each database's options and submit. Every query is searched in every database; progress shows as pairs finish. The address bar then names the session: reload or share it to see the same results, or download them as a ZIP. A session's "<code>"session.json"</code>" (in the ZIP) can be opened again from the sidebar without querying."</p>
            <h3>"Scores"</h3>
            <dl>
                <dt>"CovXK"</dt><dd>"the fraction of the query's k-mers found in the sample."</dd>
                <dt>"CovXB"</dt><dd>"the fraction of the query's bases covered by at least one k-mer found."</dd>
                <dt>"CovYK, CovYB"</dt><dd>"for abundance indexes: the mean abundance over k-mers, and over bases."</dd>
                <dt>"has_metadata"</dt><dd>"false when the database has no metadata for the sample (its other columns are then empty)."</dd>
            </dl>
            <h3>"Tabs"</h3>
            <dl>
                <dt>"Index"</dt><dd>"the database's sub-indexes (k, minimizers, partitions, Bloom filter size, bits per cell, expected false positives at the z used) and its whole metadata table."</dd>
                <dt>"Table"</dt><dd>"one row per sample found. Click a header to sort, type in the boxes under it to filter a column, or write a filter such as "<code>"Temp > 26 AND Biome = 'Trades'"</code>". Export what is shown as TSV or CSV. Click a row to open it in Sequence."</dd>
                <dt>"Plot, Map"</dt><dd>"figures of the rows the table keeps. Select points with the box or lasso tool to narrow the table to them. Download them as PNG, SVG, JPEG or Plotly JSON."</dd>
                <dt>"Sequence"</dt><dd>"the chosen sample's coverage along the query, per k-mer or per base."</dd>
            </dl>
            <h3>"Filters"</h3>
            <p>"Comparisons ("<code>"= != < <= > >="</code>"), "<code>"AND OR NOT"</code>", parentheses, "<code>"IN (…)"</code>", "<code>"LIKE"</code>" and "<code>"ILIKE"</code>" with "<code>"%"</code>" and "<code>"_"</code>", "<code>"BETWEEN a AND b"</code>", "<code>"IS [NOT] NULL"</code>". Text is quoted with "<code>"'"</code>"; column names are matched without regard to case and may be quoted with "<code>"\""</code>". A comparison with a missing value is unknown and leaves the row out, as in SQL. Filters run in your browser; nothing is sent to the server."</p>
            {plugins}
        </section>
    }
}
