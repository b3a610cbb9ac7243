//! Working with kmindex indexes directly: building one (with progress) and querying it.

use anyhow::Context;
use kmindex::Index;

use super::*;

pub(super) fn build(args: &BuildArgs) -> anyhow::Result<()> {
    use kmindex::build::{self, BuildOptions, Progress};
    let samples = build::read_fof(&args.fof)?;
    let options = BuildOptions {
        name: args.name.clone(),
        smer_size: args.kmer_size,
        minim_size: args.minim_size,
        bloom_size: args.bloom_size,
        nb_partitions: args.nb_partitions,
        bw: args.bw,
        threads: args.threads.unwrap_or_else(default_threads),
    };
    let progress = Progress::default();
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let report = std::thread::scope(|scope| {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            scope.spawn(|| show_progress(&progress, samples.len(), started, &done));
        }
        let report = build::build(&args.index, &samples, &options, &progress);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        report
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(sizing) = &report.sizing {
        eprintln!(
            "Bloom size {} chosen for ~{} distinct s-mers in the largest sample; expected false positives:",
            sizing.bloom_size, sizing.largest_sample
        );
        eprintln!("  per s-mer: {:.4}", sizing.smer_fpr);
        for (z, fpr) in sizing.kmer_fpr.iter().enumerate() {
            eprintln!("  per (s+z)-mer, z = {z}: {fpr:.2e}");
        }
    }
    eprintln!(
        "built '{}' ({} samples, {} bases in {seconds:.1} s, {:.1} Mb/s) in {}",
        args.name,
        report.entry.nb_samples,
        report.bases,
        report.bases as f64 / seconds / 1e6,
        report.dir.display()
    );
    Ok(())
}

pub(super) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Redraws one status line on the terminal until `done`.
pub(super) fn show_progress(
    progress: &kmindex::build::Progress,
    total: usize,
    started: std::time::Instant,
    done: &std::sync::atomic::AtomicBool,
) {
    use std::sync::atomic::Ordering::Relaxed;
    while !done.load(Relaxed) {
        let bases = progress.bases.load(Relaxed);
        let rate = bases as f64 / started.elapsed().as_secs_f64().max(1e-3) / 1e6;
        eprint!(
            "\r{}/{total} samples, {bases} bases read, {rate:.1} Mb/s   ",
            progress.samples_done.load(Relaxed)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    eprintln!();
}

/// `kmindex query` for one sub-index, one thread: records shorter than s + z are skipped with a
/// warning, a record without a name ends the input (kmindex's end-of-queue marker), and no
/// record at all writes nothing.
pub(super) fn query(args: &QueryArgs) -> anyhow::Result<String> {
    let index = Index::open_only(&args.index, std::slice::from_ref(&args.name))?;
    let sub = index.get(&args.name).expect("opened above");
    let input = std::fs::read(&args.fastx)
        .with_context(|| format!("cannot read {}", args.fastx.display()))?;
    let records = app::model::query::read_fastx(&input)
        .with_context(|| format!("cannot read queries from {}", args.fastx.display()))?;
    let z = usize::from(args.z);
    let min = sub.smer_size() + z;
    let mut kept = Vec::with_capacity(records.len());
    for (number, record) in records.iter().enumerate() {
        if record.seq.len() < min {
            tracing::warn!("'{}' skipped: min size is s+z={min}", record.name);
            continue;
        }
        if record.name.is_empty() {
            tracing::warn!(
                "record {} has no name: kmindex stops reading there, so does kmviz",
                number + 1
            );
            break;
        }
        kept.push(record);
    }
    if kept.is_empty() {
        tracing::warn!("no query to answer");
        return Ok(String::new());
    }
    let seqs: Vec<&[u8]> = kept.iter().map(|q| q.seq.as_bytes()).collect();
    let names: Vec<&str> = kept.iter().map(|q| q.name.as_str()).collect();
    let results = sub.query(&seqs, z, args.format.needs_positions())?;
    Ok(kmindex::output::records(
        sub,
        &names,
        &results,
        args.format,
        args.r,
    ))
}
