//! `kmviz plugin new`: a plugin project that builds as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The WIT package plugins implement, shipped with every template.
pub const WIT: &str = include_str!("../../../plugins-wit/kmviz.wit");

/// Writes a new plugin project `name` in language `lang` into `parent/name`; returns its folder.
pub fn write(lang: &str, name: &str, parent: &Path) -> anyhow::Result<PathBuf> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "'{name}' is not a plugin name: use lowercase letters, digits and '-', starting with a letter"
        );
    }
    let files: Vec<(&str, String)> = match lang {
        "rust" => vec![
            (
                "Cargo.toml",
                include_str!("template/Cargo.toml.in").replace("{name}", name),
            ),
            (
                "src/lib.rs",
                include_str!("template/lib.rs.in")
                    .replace("{name}", name)
                    .replace("{crate}", &name.replace('-', "_")),
            ),
            ("wit/kmviz.wit", WIT.to_owned()),
        ],
        "js" | "python" | "c" => bail!(
            "no {lang} template yet: only --lang rust has one (see plugins/README.md for the \
             {lang} toolchain)"
        ),
        other => bail!("unknown language '{other}': rust, js, python or c"),
    };
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("files are in the project"))?;
        std::fs::write(&path, text).with_context(|| path.display().to_string())?;
    }
    Ok(dir)
}
