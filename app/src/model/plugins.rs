//! What plugins add to the app: analysis tabs and an instance's branding. Their HTML comes
//! sanitised by the server (no scripts, no event attributes, no external resources).

use serde::{Deserialize, Serialize};

/// An analysis tab a plugin adds beside the built-in ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginTab {
    /// The plugin rendering it.
    pub plugin: String,
    /// Its title.
    pub name: String,
    pub icon: String,
    /// Where it goes after the built-in tabs: smaller first.
    pub position: u32,
}

/// A tab's content for one result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TabContent {
    /// Sanitised HTML.
    Html(String),
    Text(String),
    /// Why the plugin could not render it.
    Error(String),
}

/// The instance plugins' home page, help and stylesheets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Branding {
    /// Sanitised HTML shown before any query.
    pub home: String,
    /// Sanitised HTML added to the Help tab.
    pub help: String,
    /// URLs of the stylesheets among their assets.
    pub styles: Vec<String>,
}
