//! Query input as the app and the API read it: FASTA/FASTQ, gzip or plain, or a bare sequence,
//! under small limits (so that the limit checks run too), and as kmindex reads it.
#![no_main]

use app::model::query::{Alphabet, InputLimits, parse_queries, read_fastx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = InputLimits {
        max_query: 8,
        max_query_size: 512,
        max_size: 2048,
        alphabet: Alphabet::Dna,
    };
    if let Ok(queries) = parse_queries(data, &limits) {
        assert!(queries.len() <= 8);
        assert!(
            queries
                .iter()
                .all(|q| !q.name.is_empty() && q.seq.len() <= 512)
        );
    }
    let _ = parse_queries(data, &InputLimits::default());
    let _ = read_fastx(data);
});
