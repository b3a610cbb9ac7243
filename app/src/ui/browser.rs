//! Bindings to `browser.js`: Plotly, downloads and remembered preferences.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/ui/browser.js")]
extern "C" {
    /// Draws Plotly JSON `figure` in `div`; `on_select` gets the selected rows, or null.
    #[wasm_bindgen(catch)]
    pub async fn draw(
        div: &web_sys::HtmlElement,
        figure: &str,
        on_select: &Closure<dyn FnMut(Option<Vec<u32>>)>,
    ) -> Result<(), JsValue>;

    pub fn purge(div: &web_sys::HtmlElement);

    #[wasm_bindgen(js_name = downloadImage, catch)]
    pub async fn download_image(
        div: &web_sys::HtmlElement,
        format: &str,
        filename: &str,
    ) -> Result<(), JsValue>;

    /// Offers `text` as a file to download.
    pub fn save(filename: &str, text: &str, mime: &str);

    pub fn remember(key: &str, value: &str);

    pub fn recall(key: &str) -> Option<String>;
}

/// A JavaScript error's message.
pub fn message(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the browser refused".into())
}
