//! Configuration files, in each of the three formats (chosen by the first byte), then what the
//! server derives from a configuration that parses.
#![no_main]

use kmviz::config::{Config, Format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = match choice % 3 {
        0 => Format::Toml,
        1 => Format::Yaml,
        _ => Format::Json,
    };
    if let Ok(config) = parse::<Config>(text, format) {
        let base = std::path::Path::new("/nonexistent-kmviz-fuzz");
        let _ = config.warnings();
        let _ = config.databases(base);
        let _ = config.plugins(base);
    }
});
