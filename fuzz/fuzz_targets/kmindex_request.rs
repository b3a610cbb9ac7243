//! kmindex-server's `POST /kmindex/query` body.
#![no_main]

use kmviz::kmindex::request::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(refused) = Request::parse(data) {
        // Every refusal is a JSON body.
        let body = refused.body();
        assert!(body.starts_with("{\"error\":"), "{body}");
    }
});
