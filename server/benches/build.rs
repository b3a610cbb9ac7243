//! Index build throughput (bases per second per thread) on the demo survey, against merely
//! reading and parsing the same FASTA files, in the same run.
//!
//! `cargo bench -p kmviz --bench build`

use std::time::Instant;

use kmindex::build::{self, BuildOptions, Progress};

fn main() {
    let dir = std::env::temp_dir().join(format!("kmviz-bench-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let samples = kmviz::demo::generate(&dir, kmviz::demo::DEFAULT_SEED).unwrap();

    // Baseline: read and parse every file, touching every base.
    let started = Instant::now();
    let mut bases = 0u64;
    let mut checksum = 0u64;
    for sample in &samples {
        for path in &sample.files {
            let mut reader = needletail_reader(path);
            while let Some(record) = reader.next() {
                let record = record.unwrap();
                let seq = record.seq();
                bases += seq.len() as u64;
                checksum = checksum.wrapping_add(seq.iter().map(|&b| u64::from(b)).sum::<u64>());
            }
        }
    }
    let parse = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runs = Vec::new();
    for t in [1, threads] {
        let options = BuildOptions {
            name: format!("bench{t}"),
            smer_size: 25,
            minim_size: 10,
            bloom_size: Some(1_600_000),
            nb_partitions: 4,
            bw: 2,
            threads: t,
        };
        let started = Instant::now();
        build::build(
            &dir.join(format!("index{t}")),
            &samples,
            &options,
            &Progress::default(),
        )
        .unwrap();
        runs.push((t, started.elapsed().as_secs_f64()));
    }
    std::fs::remove_dir_all(&dir).unwrap();

    println!("demo survey: {} samples, {bases} bases", samples.len());
    println!(
        "read + parse only (1 thread): {:>10.2} Mb/s",
        bases as f64 / parse / 1e6
    );
    for (t, seconds) in runs {
        let per_thread = bases as f64 / seconds / t as f64 / 1e6;
        println!(
            "build, {t} thread(s): {seconds:.2} s, {per_thread:.2} Mb/s per thread; ratio to read + parse: {:.3}",
            parse / seconds
        );
    }
}

fn needletail_reader(path: &std::path::Path) -> Box<dyn needletail::FastxReader> {
    needletail::parse_fastx_file(path).unwrap()
}
