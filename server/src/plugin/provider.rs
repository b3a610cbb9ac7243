//! A plugin as a [`Provider`]: its description gives the sub-indexes and options; each query
//! is one `search` call in a fresh instance. The description is read when the database opens
//! and, while that fails (say the plugin's server is down), again on use: the server starts
//! anyway and only this database fails.

use std::sync::{Arc, RwLock};

use app::model::options::{OptionKind, OptionSpec, OptionValue, OptionValues};
use app::model::query::Query;
use app::model::results::{Kmers, QueryHits, SampleHit};

use super::wit_provider::{Description, Hit, Query as WitQuery};
use super::wit_types::{
    OptionKind as WitKind, OptionSetting, OptionSpec as WitSpec, OptionValue as WitValue,
};
use super::{Plugin, PluginError};
use crate::future::BoxFuture;
use crate::provider::{IndexInfo, Provider, ProviderConfig, ProviderError};
use crate::registry::Context;

/// A plugin's provider as a database configures it (`type` = the plugin's name).
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub plugin: String,
    /// The database's `params`, for the plugin.
    pub params: serde_json::Value,
}

impl ProviderConfig for Configured {
    fn open<'a>(
        &'a self,
        context: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Provider>, ProviderError>> {
        Box::pin(async move {
            let plugin = context
                .plugins
                .get(&self.plugin)
                .filter(|p| p.is_provider())
                .ok_or_else(|| {
                    ProviderError(format!(
                        "provider: plugin '{}' does not export a provider",
                        self.plugin
                    ))
                })?;
            let provider = PluginProvider::open(Arc::clone(plugin), &self.params).await;
            Ok(Arc::new(provider) as Arc<dyn Provider>)
        })
    }
}

#[derive(Debug)]
pub struct PluginProvider {
    plugin: Arc<Plugin>,
    /// The database's `params`, as JSON text.
    params: String,
    kind: &'static str,
    described: RwLock<Option<Described>>,
}

#[derive(Debug, Clone)]
struct Described {
    description: Description,
    options: Vec<OptionSpec>,
}

impl PluginProvider {
    /// Plugin `plugin` for a database configured with `params`; a description that cannot be
    /// read now is logged and read again on use.
    pub async fn open(plugin: Arc<Plugin>, params: &serde_json::Value) -> PluginProvider {
        // One leak per configured plugin database: provider kinds are static names.
        let kind: &'static str = Box::leak(plugin.name().to_owned().into_boxed_str());
        let provider = PluginProvider {
            plugin,
            params: params.to_string(),
            kind,
            described: RwLock::new(None),
        };
        if let Err(e) = provider.describe().await {
            tracing::warn!("{e}; will try again on use");
        }
        provider
    }

    /// The plugin's description, read once it succeeds.
    async fn describe(&self) -> Result<Described, PluginError> {
        if let Some(described) = self.described.read().expect("not poisoned").clone() {
            return Ok(described);
        }
        let plugin = &self.plugin;
        let text = self.params.clone();
        let description = plugin
            .provider_call(move |store, instance| {
                Box::pin(async move {
                    instance
                        .kmviz_plugin_provider()
                        .call_describe(store, &text)
                        .await
                })
            })
            .await?
            .map_err(|message| plugin.fail(format!("cannot describe itself: {message}")))?;
        let options = description
            .options
            .iter()
            .map(option_spec)
            .collect::<Result<_, _>>()
            .map_err(|message| plugin.fail(message))?;
        let described = Described {
            description,
            options,
        };
        *self.described.write().expect("not poisoned") = Some(described.clone());
        Ok(described)
    }
}

impl Provider for PluginProvider {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn indexes(&self) -> BoxFuture<'_, Result<Vec<IndexInfo>, ProviderError>> {
        Box::pin(async move {
            let described = self
                .describe()
                .await
                .map_err(|e| ProviderError(e.to_string()))?;
            Ok(described
                .description
                .indexes
                .iter()
                .map(|index| IndexInfo {
                    name: index.name.clone(),
                    smer_size: index.kmer_size as usize,
                    abundance: index.abundance,
                    samples: index.samples.len(),
                    minimizer_size: None,
                    partitions: None,
                    bloom_size: None,
                    bits_per_cell: None,
                    occupancy: None,
                })
                .collect())
        })
    }

    /// Empty until the plugin could describe itself.
    fn options(&self) -> Vec<OptionSpec> {
        self.described
            .read()
            .expect("not poisoned")
            .as_ref()
            .map(|d| d.options.clone())
            .unwrap_or_default()
    }

    fn query<'a>(
        &'a self,
        query: &'a Query,
        options: &'a OptionValues,
    ) -> BoxFuture<'a, Result<Vec<QueryHits>, ProviderError>> {
        Box::pin(async move {
            let described = self
                .describe()
                .await
                .map_err(|e| ProviderError(e.to_string()))?;
            let request = WitQuery {
                id: query.name.clone(),
                sequence: query.seq.clone(),
                options: options
                    .iter()
                    .map(|(name, value)| OptionSetting {
                        name: name.clone(),
                        value: wit_value(value),
                    })
                    .collect(),
            };
            let params = self.params.clone();
            let hits = self
                .plugin
                .provider_call(move |store, instance| {
                    Box::pin(async move {
                        instance
                            .kmviz_plugin_provider()
                            .call_search(store, &params, &request)
                            .await
                    })
                })
                .await
                .map_err(|e| ProviderError(e.to_string()))?
                .map_err(|message| ProviderError(format!("plugin '{}': {message}", self.kind)))?;
            Ok(by_index(&described.description, query, hits))
        })
    }
}

/// Hits grouped by the sub-indexes of `description` (others are dropped).
fn by_index(description: &Description, query: &Query, hits: Vec<Hit>) -> Vec<QueryHits> {
    description
        .indexes
        .iter()
        .map(|index| QueryHits {
            query: query.name.clone(),
            index: index.name.clone(),
            kmer_size: hits
                .iter()
                .find(|h| h.index == index.name && h.kmer_size > 0)
                .map_or(index.kmer_size, |h| h.kmer_size) as usize,
            abundance: index.abundance,
            samples: hits
                .iter()
                .filter(|h| h.index == index.name)
                .map(|h| SampleHit {
                    sample: h.sample.clone(),
                    kmer_ratio: h.ratio.clamp(0.0, 1.0),
                    mean_abundance: h.abundance.map(|a| a.round().max(0.0) as u32),
                    kmers: Kmers::from_values(h.positions.iter().copied()),
                })
                .collect(),
        })
        .collect()
}

fn wit_value(value: &OptionValue) -> WitValue {
    match value {
        OptionValue::Bool(b) => WitValue::Boolean(*b),
        OptionValue::Number(n) => WitValue::Number(*n),
        OptionValue::Text(t) => WitValue::Text(t.clone()),
        OptionValue::List(l) => WitValue::List(l.clone()),
    }
}

/// kmviz's option schema from the plugin's; the default must fit the kind.
fn option_spec(spec: &WitSpec) -> Result<OptionSpec, String> {
    let wrong = || format!("option '{}': its default does not fit its kind", spec.name);
    let kind = match (&spec.kind, &spec.default) {
        (WitKind::Numeric(b), WitValue::Number(d)) => OptionKind::Numeric {
            min: b.min,
            max: b.max,
            step: b.step,
            default: *d,
        },
        (WitKind::Range(b), WitValue::Number(d)) => OptionKind::Range {
            min: b.min,
            max: b.max,
            step: b.step,
            default: *d,
        },
        (WitKind::Choice(choices), WitValue::Text(d)) => OptionKind::Choice {
            choices: choices.clone(),
            default: d.clone(),
        },
        (WitKind::MultiChoice(choices), WitValue::List(d)) => OptionKind::MultiChoice {
            choices: choices.clone(),
            default: d.clone(),
        },
        (WitKind::Text(placeholder), WitValue::Text(d)) => OptionKind::Text {
            placeholder: placeholder.clone(),
            default: d.clone(),
        },
        (WitKind::Toggle, WitValue::Boolean(d)) => OptionKind::Toggle { default: *d },
        _ => return Err(wrong()),
    };
    let mut option = OptionSpec::new(&spec.name, &spec.help, kind);
    option.required = spec.required;
    Ok(option)
}
