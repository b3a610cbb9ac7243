//! The file formats a configuration may be written in (TOML, YAML, JSON), parsing with the
//! place of each error, and the commented template.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::*;

/// The formats a configuration may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> Result<Format, Invalid> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Ok(Format::Toml),
            Some("yaml" | "yml") => Ok(Format::Yaml),
            Some("json") => Ok(Format::Json),
            _ => Err("the file name must end in .toml, .yaml, .yml or .json".into()),
        }
    }
}

/// Parses `text` in `format` into `T`; errors name the key's path and, when the parser knows
/// it, the line.
pub fn parse<T: DeserializeOwned>(text: &str, format: Format) -> Result<T, Invalid> {
    fn located<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> Invalid {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner.trim_end();
        Invalid(if path == "." {
            inner.to_owned()
        } else {
            format!("{path}: {inner}")
        })
    }
    match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(located)
        }
        Format::Toml => {
            let de = toml::Deserializer::parse(text).map_err(|e| Invalid(e.to_string()))?;
            serde_path_to_error::deserialize(de).map_err(located)
        }
        Format::Yaml => {
            // The YAML parser names the place itself.
            serde_yaml_ng::from_str(text).map_err(|e| Invalid(e.to_string()))
        }
    }
}

/// Reads `part` (a value found at `place`) as `T`.
pub(crate) fn part<T: DeserializeOwned>(value: &Json, place: &str) -> Result<T, Invalid> {
    let value = if value.is_null() {
        Json::Object(Default::default())
    } else {
        value.clone()
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let where_ = if path == "." {
            place.to_owned()
        } else {
            format!("{place}.{path}")
        };
        Invalid(format!("{where_}: {}", e.into_inner()))
    })
}

/// A configuration to start from, in `format`: every section, commented in TOML.
pub fn template(format: Format) -> String {
    const TOML: &str = include_str!("template.toml");
    match format {
        Format::Toml => TOML.to_owned(),
        Format::Yaml | Format::Json => {
            let config: Config = parse(TOML, Format::Toml).expect("the template parses");
            if format == Format::Json {
                serde_json::to_string_pretty(&config).expect("serialisable") + "\n"
            } else {
                serde_yaml_ng::to_string(&config).expect("serialisable")
            }
        }
    }
}
