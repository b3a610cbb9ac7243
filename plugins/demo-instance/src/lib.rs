//! The demo's branding, as an instance plugin: a home page shown before any query, a section
//! of the Help tab, and the stylesheet and logo they use (served under
//! `/plugins/<plugin>/`). Everything is built into the component: it needs no grant.

wit_bindgen::generate!({
    path: "../../plugins-wit",
    world: "instance-plugin",
});

use exports::kmviz::plugin::instance::{Asset, Guest};

struct DemoInstance;

impl Guest for DemoInstance {
    fn home() -> String {
        include_str!("../assets/home.html").into()
    }

    fn help() -> String {
        include_str!("../assets/help.html").into()
    }

    fn assets() -> Vec<Asset> {
        vec![
            Asset {
                path: "demo.css".into(),
                mime: "text/css".into(),
                bytes: include_bytes!("../assets/demo.css").to_vec(),
            },
            Asset {
                path: "logo.svg".into(),
                mime: "image/svg+xml".into(),
                bytes: include_bytes!("../assets/logo.svg").to_vec(),
            },
        ]
    }
}

export!(DemoInstance);
