//! `kmviz plugin new`: a plugin project that builds as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The WIT package plugins implement, shipped with every template.
pub const WIT: &str = include_str!("../../../plugins-wit/kmviz.wit");

/// A project's files in one language: (path, text with `{name}` and `{crate}` — the name
/// with `_` for `-` — standing for the plugin's name).
struct Template {
    lang: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// Every template is the same toy provider (samples given in `params`, option `prefix`).
const TEMPLATES: [Template; 4] = [
    Template {
        lang: "rust",
        files: &[
            ("Cargo.toml", include_str!("template/rust/Cargo.toml.in")),
            ("src/lib.rs", include_str!("template/rust/lib.rs.in")),
        ],
    },
    Template {
        lang: "js",
        files: &[
            ("package.json", include_str!("template/js/package.json.in")),
            (
                "package-lock.json",
                include_str!("template/js/package-lock.json.in"),
            ),
            ("src/plugin.js", include_str!("template/js/plugin.js.in")),
            ("build.sh", include_str!("template/js/build.sh.in")),
            ("README.md", include_str!("template/js/README.md.in")),
            (".gitignore", include_str!("template/js/gitignore.in")),
        ],
    },
    Template {
        lang: "python",
        files: &[
            ("src/app.py", include_str!("template/python/app.py.in")),
            ("build.sh", include_str!("template/python/build.sh.in")),
            ("README.md", include_str!("template/python/README.md.in")),
            (".gitignore", include_str!("template/python/gitignore.in")),
        ],
    },
    Template {
        lang: "c",
        files: &[
            ("src/plugin.c", include_str!("template/c/plugin.c.in")),
            ("build.sh", include_str!("template/c/build.sh.in")),
            ("README.md", include_str!("template/c/README.md.in")),
            (".gitignore", include_str!("template/c/gitignore.in")),
            // The tool writing the C bindings and making the component (built once by build.sh).
            (
                "tools/Cargo.toml",
                include_str!("../../../plugins/c-tools/Cargo.toml"),
            ),
            (
                "tools/Cargo.lock",
                include_str!("../../../plugins/c-tools/Cargo.lock"),
            ),
            (
                "tools/src/main.rs",
                include_str!("../../../plugins/c-tools/src/main.rs"),
            ),
        ],
    },
];

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
    let template = TEMPLATES
        .iter()
        .find(|t| t.lang == lang)
        .ok_or_else(|| anyhow::anyhow!("unknown language '{lang}': rust, js, python or c"))?;
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let files = template.files.iter().map(|(path, text)| {
        let text = text
            .replace("{name}", name)
            .replace("{crate}", &name.replace('-', "_"));
        (*path, text)
    });
    for (path, text) in files.chain([("wit/kmviz.wit", WIT.to_owned())]) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("files are in the project"))?;
        std::fs::write(&path, text).with_context(|| path.display().to_string())?;
        #[cfg(unix)]
        if path.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(dir)
}
