//! A plugin as a [`MetaDb`]: it says which columns hold ids and positions, and answers Arrow
//! IPC streams that are brought to the MetaDB shape like any source's. The table's columns
//! are read once when the database opens; rows are asked for on each use, so the plugin
//! stays the authority on its data.

use std::io::Cursor;
use std::sync::Arc;

use app::model::session::Geodata;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use super::{Plugin, PluginError};
use crate::future::BoxFuture;
use crate::metadb::{MetaDb, MetaDbConfig, MetaDbError, conform, normalise};
use crate::registry::Context;

/// A plugin's MetaDB as a database configures it (`type` = the plugin's name).
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    pub plugin: String,
    /// The metadata's `params`, for the plugin.
    pub params: serde_json::Value,
}

impl MetaDbConfig for Configured {
    fn open<'a>(
        &'a self,
        context: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn MetaDb>, MetaDbError>> {
        Box::pin(async move {
            let plugin = context
                .plugins
                .get(&self.plugin)
                .filter(|p| p.is_metadb())
                .ok_or_else(|| {
                    MetaDbError(format!("plugin '{}' does not export a MetaDB", self.plugin))
                })?;
            let metadb = PluginMetaDb::open(Arc::clone(plugin), &self.params)
                .await
                .map_err(|e| MetaDbError(e.to_string()))?;
            Ok(Arc::new(metadb) as Arc<dyn MetaDb>)
        })
    }
}

#[derive(Debug)]
pub struct PluginMetaDb {
    plugin: Arc<Plugin>,
    /// The metadata's `params`, as JSON text.
    params: String,
    idx: String,
    geodata: Option<Geodata>,
    schema: SchemaRef,
}

impl PluginMetaDb {
    /// Plugin `plugin`'s MetaDB configured with `params`: its layout and its table's columns.
    pub async fn open(
        plugin: Arc<Plugin>,
        params: &serde_json::Value,
    ) -> Result<PluginMetaDb, PluginError> {
        let params = params.to_string();
        let text = params.clone();
        let layout = plugin
            .metadb_call(move |store, instance| {
                Box::pin(async move {
                    instance
                        .kmviz_plugin_metadb()
                        .call_describe(store, &text)
                        .await
                })
            })
            .await?
            .map_err(|message| plugin.fail(format!("cannot describe itself: {message}")))?;
        let geodata = match (layout.latitude, layout.longitude) {
            (Some(latitude), Some(longitude)) => Some(Geodata {
                latitude,
                longitude,
            }),
            (None, None) => None,
            _ => {
                return Err(plugin
                    .fail("its schema names a latitude or a longitude column, not both".into()));
            }
        };
        let mut metadb = PluginMetaDb {
            plugin,
            params,
            idx: layout.id_column,
            geodata,
            schema: Arc::new(arrow_schema::Schema::empty()),
        };
        let table = metadb.table().await.map_err(|e| metadb.plugin.fail(e.0))?;
        metadb.schema = table.schema();
        Ok(metadb)
    }

    /// The whole table, normalised.
    async fn table(&self) -> Result<RecordBatch, MetaDbError> {
        let params = self.params.clone();
        let bytes = self
            .plugin
            .metadb_call(move |store, instance| {
                Box::pin(async move {
                    instance
                        .kmviz_plugin_metadb()
                        .call_table(store, &params)
                        .await
                })
            })
            .await;
        self.read(bytes, "table")
    }

    /// A plugin's answer as a normalised batch.
    fn read(
        &self,
        answer: Result<Result<Vec<u8>, String>, PluginError>,
        call: &str,
    ) -> Result<RecordBatch, MetaDbError> {
        let plugin = self.plugin.name();
        let bytes = answer
            .map_err(|e| MetaDbError(e.to_string()))?
            .map_err(|message| MetaDbError(format!("plugin '{plugin}': {message}")))?;
        let broken = |e: &dyn std::fmt::Display| {
            MetaDbError(format!(
                "plugin '{plugin}': its {call} is not an Arrow IPC stream: {e}"
            ))
        };
        let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(bytes), None)
            .map_err(|e| broken(&e))?;
        let schema = reader.schema();
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| broken(&e))?;
        let batch =
            arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| broken(&e))?;
        normalise(&batch, &self.idx, self.geodata.as_ref())
            .map_err(|e| MetaDbError(format!("plugin '{plugin}': its {call}: {e}")))
    }
}

impl MetaDb for PluginMetaDb {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn geodata(&self) -> Option<&Geodata> {
        self.geodata.as_ref()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, MetaDbError>> {
        Box::pin(async move { Ok(self.table().await?.num_rows()) })
    }

    fn fetch<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<RecordBatch, MetaDbError>> {
        Box::pin(async move {
            let params = self.params.clone();
            let ids = ids.to_vec();
            let answer = self
                .plugin
                .metadb_call(move |store, instance| {
                    Box::pin(async move {
                        instance
                            .kmviz_plugin_metadb()
                            .call_rows(store, &params, &ids)
                            .await
                    })
                })
                .await;
            conform(&self.read(answer, "rows")?, &self.schema)
        })
    }

    fn page(&self, offset: usize, limit: usize) -> BoxFuture<'_, Result<RecordBatch, MetaDbError>> {
        Box::pin(async move {
            let table = conform(&self.table().await?, &self.schema)?;
            let start = offset.min(table.num_rows());
            Ok(table.slice(start, limit.min(table.num_rows() - start)))
        })
    }
}
