//! What a configuration sets that this server ignores (kmviz 0.8 sections and keys it has no
//! use for), reported, not refused.

use super::*;

impl Config {
    /// What the configuration sets that this server ignores.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = [
            ("cache", self.cache.is_some()),
            ("html", self.html.is_some()),
            ("assets", self.assets.is_some()),
            ("preset", self.preset.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| format!("'{key}' (a kmviz 0.8 setting) is ignored by this server"))
        .collect();
        for (name, plugin) in &self.plugins {
            if plugin.get("wasm").is_none() {
                warnings.push(format!(
                    "plugins.{name}: a kmviz 0.8 (Python) plugin is ignored; plugins here are \
                     WebAssembly components (give `wasm`)"
                ));
            }
        }
        let api = &self.api;
        if !api.enabled || !api.with_query || !api.with_download {
            warnings.push(
                "api.enabled, api.with_query and api.with_download are ignored: the app itself \
                 uses the API"
                    .into(),
            );
        }
        let defaults = ApiConfig::default();
        if (&api.route, &api.query_route, &api.download_route)
            != (
                &defaults.route,
                &defaults.query_route,
                &defaults.download_route,
            )
        {
            warnings.push(
                "api routes are fixed (/api/query, /api/sessions/...): api.route, \
                           api.query_route and api.download_route are ignored"
                    .into(),
            );
        }
        for (name, db) in &self.databases {
            if db.kind == "kmindex-cli" && db.params.get("executable").is_some_and(|e| !e.is_null())
            {
                warnings.push(format!(
                    "databases.{name}.params.executable is ignored: kmviz reads kmindex \
                     indexes itself"
                ));
            }
        }
        warnings
    }
}
