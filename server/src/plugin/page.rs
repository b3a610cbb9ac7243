//! Plugins' pages: analysis tabs rendered for a result, and instance plugins' home page, help
//! and assets. What is static (tab titles, home, help, assets) is read once when the server
//! starts; a tab is rendered on each request. Every HTML text is sanitised here, so the app can
//! show it as it is.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use app::model::plugins::{Branding, PluginTab, TabContent};

use super::wit_tab::Content;
use super::{Plugin, Plugins};

/// A file an instance plugin serves under `/plugins/<plugin>/<path>`.
#[derive(Debug, Clone)]
pub struct Asset {
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// The tabs and branding of the loaded plugins.
#[derive(Debug, Default)]
pub struct Pages {
    tabs: Vec<(PluginTab, Arc<Plugin>)>,
    branding: Option<Branding>,
    /// By `<plugin>/<path>`.
    assets: BTreeMap<String, Asset>,
}

impl Pages {
    /// Asks every tab plugin for its title and every instance plugin for its pages; a plugin
    /// that fails is left out, with a warning.
    pub async fn open(plugins: &Plugins) -> Pages {
        let mut pages = Pages::default();
        for plugin in plugins.values() {
            if plugin.is_tab() {
                let info = plugin
                    .tab_call(|store, instance| {
                        Box::pin(async move {
                            instance.kmviz_plugin_tab().call_info(store).await.map(Ok)
                        })
                    })
                    .await;
                match info {
                    Ok(Ok(info)) => pages.tabs.push((
                        PluginTab {
                            plugin: plugin.name().to_owned(),
                            name: info.name,
                            icon: info.icon,
                            position: info.position,
                        },
                        Arc::clone(plugin),
                    )),
                    Ok(Err(e)) => tracing::warn!("plugin '{}': its tab: {e}", plugin.name()),
                    Err(e) => tracing::warn!("{e}; its tab is left out"),
                }
            }
            if plugin.is_instance()
                && let Err(e) = pages.add_instance(plugin).await
            {
                tracing::warn!("{e}; its pages are left out");
            }
        }
        pages.tabs.sort_by_key(|(tab, _)| tab.position);
        pages
    }

    async fn add_instance(&mut self, plugin: &Plugin) -> Result<(), super::PluginError> {
        let (home, help, assets) = plugin
            .instance_call(|store, instance| {
                Box::pin(async move {
                    let pages = instance.kmviz_plugin_instance();
                    let home = pages.call_home(&mut *store).await?;
                    let help = pages.call_help(&mut *store).await?;
                    let assets = pages.call_assets(&mut *store).await?;
                    Ok(Ok((home, help, assets)))
                })
            })
            .await?
            .map_err(|e| plugin.fail(e))?;
        let branding = self.branding.get_or_insert_with(Branding::default);
        branding.home.push_str(&sanitise(&home));
        branding.help.push_str(&sanitise(&help));
        for asset in assets {
            let path = asset.path.trim_start_matches('/');
            let url = format!("/plugins/{}/{path}", plugin.name());
            if asset.mime == "text/css" {
                branding.styles.push(url);
            }
            self.assets.insert(
                format!("{}/{path}", plugin.name()),
                Asset {
                    mime: asset.mime,
                    bytes: asset.bytes,
                },
            );
        }
        Ok(())
    }

    pub fn tabs(&self) -> Vec<PluginTab> {
        self.tabs.iter().map(|(tab, _)| tab.clone()).collect()
    }

    pub fn branding(&self) -> Option<&Branding> {
        self.branding.as_ref()
    }

    /// Asset `path` of instance plugin `plugin`.
    pub fn asset(&self, plugin: &str, path: &str) -> Option<&Asset> {
        self.assets.get(&format!("{plugin}/{path}"))
    }

    /// Tab `plugin`'s content for `results` (one result as an Arrow IPC stream); `None` when
    /// there is no such tab.
    pub async fn render(&self, plugin: &str, results: Vec<u8>) -> Option<TabContent> {
        let (_, plugin) = self.tabs.iter().find(|(tab, _)| tab.plugin == plugin)?;
        let params = plugin.params();
        let answer = plugin
            .tab_call(move |store, instance| {
                Box::pin(async move {
                    instance
                        .kmviz_plugin_tab()
                        .call_render(store, &params, &results)
                        .await
                })
            })
            .await;
        Some(match answer {
            Ok(Ok(Content::Html(html))) => TabContent::Html(sanitise(&html)),
            Ok(Ok(Content::Text(text))) => TabContent::Text(text),
            Ok(Err(message)) => TabContent::Error(format!("plugin '{}': {message}", plugin.name())),
            Err(e) => TabContent::Error(e.to_string()),
        })
    }
}

/// `html` without scripts, styles, event attributes or anything loaded from elsewhere:
/// images only from this server (a plugin's assets), links opened without a referrer.
pub fn sanitise(html: &str) -> String {
    static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
        let mut cleaner = ammonia::Builder::default();
        cleaner
            .add_tags([
                "progress",
                "meter",
                "figure",
                "figcaption",
                "section",
                "header",
                "footer",
            ])
            .add_tag_attributes("progress", ["value", "max"])
            .add_tag_attributes("meter", ["value", "min", "max", "low", "high", "optimum"])
            .add_generic_attributes(["class"])
            .url_relative(ammonia::UrlRelative::PassThrough)
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                ("img", "src") if !is_local_path(value) => None,
                _ => Some(value.into()),
            });
        cleaner
    });
    CLEANER.clean(html).to_string()
}

/// Whether a browser takes `url` for a path on this server, however it is spelled. Browsers
/// drop tabs and line breaks anywhere in a URL, trim controls and spaces around it, and read
/// `\` as `/`: so `/\evil.example`, `/\t/evil.example` or ` //evil.example` all name
/// another host. Only a plain `/` followed by a path letter is taken.
fn is_local_path(url: &str) -> bool {
    let mut chars = url.chars();
    chars.next() == Some('/')
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || "-._~%".contains(c))
        && !url
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::sanitise;

    #[test]
    fn sanitising_keeps_markup_and_drops_what_runs_or_loads() {
        let clean = sanitise(
            "<h2 class=\"t\" onclick=\"x()\">Coverage</h2><script>alert(1)</script>\
             <img src=\"https://evil.example/p.png\"><img src=\"/plugins/demo/logo.svg\">\
             <progress value=\"0.5\" max=\"1\"></progress><a href=\"javascript:x()\">j</a>\
             <style>body{}</style>",
        );
        assert_eq!(
            clean,
            "<h2 class=\"t\">Coverage</h2><img><img src=\"/plugins/demo/logo.svg\">\
             <progress value=\"0.5\" max=\"1\"></progress><a rel=\"noopener noreferrer\">j</a>"
        );
    }

    #[test]
    fn images_from_other_hosts_are_dropped_however_spelled() {
        // Spellings browsers normalise into another host (backslashes, tabs and line breaks,
        // leading controls and spaces, protocol-relative, entity-encoded, other schemes).
        let elsewhere = [
            "//evil.example/p.png",
            "/\\evil.example/p.png",
            "\\\\evil.example/p.png",
            "/&#9;/evil.example/p.png",
            "/&#10;/evil.example/p.png",
            "/\t/evil.example/p.png",
            "&#1;//evil.example/p.png",
            " //evil.example/p.png",
            "&#x2F;&#x2F;evil.example/p.png",
            "/&#92;evil.example/p.png",
            "https://evil.example/p.png",
            "hTTps:evil.example/p.png",
            "data:image/svg+xml,<svg/>",
            "javascript:alert(1)",
            "p.png",
        ];
        for src in elsewhere {
            let clean = sanitise(&format!("<img src=\"{src}\">"));
            assert_eq!(clean, "<img>", "{src}");
        }
        for src in [
            "/plugins/demo/logo.svg",
            "/plugins/demo/a%20b.png",
            "/p.png",
        ] {
            let clean = sanitise(&format!("<img src=\"{src}\">"));
            assert_eq!(clean, format!("<img src=\"{src}\">"), "{src}");
        }
    }
}
