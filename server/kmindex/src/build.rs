//! Building kmindex sub-indexes from FASTA/FASTQ, in the format kmindex (and [`super::Index`])
//! read.
//!
//! Samples come from a kmtricks "file of files" (`ID: file1 ; file2`, optionally `! N` for a
//! minimum count). Each sample's s-mers are hashed exactly as queries are ([`super::smer`]), so a
//! sequence indexed in a sample is always found there; letters other than `ACGT` split a read, as
//! kmtricks does. A presence/absence sub-index (`bw = 1`) sets a sample's bit in its s-mers'
//! rows; an abundance sub-index stores per row kmtricks' class of the count of the s-mers hashed
//! there: the bit length of the count, capped at `2^bw - 1`.
//!
//! Samples are read in parallel, streaming, each into its own column of the Bloom matrix; the
//! memory is the matrix plus, for counts, one row counter per thread. Partitions are then written
//! row by row. Everything is written in a staging directory renamed into place at the end, and
//! the registry is replaced in one rename after that: a failed build leaves nothing behind.

mod distinct;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::hash_info::HashInfo;
use super::matrix::Matrix;
use super::registry::{Entry, Registry, kmindex_sha1};
use super::repartition::Repartition;
use super::result::insert_msb_first;
use super::smer::{MAX_SMER_SIZE, MINIM_SIZES, SmerHasher, SmerSlot};

/// Version strings written in the registry and `build_infos.txt`: the kmindex and kmtricks
/// releases whose format this writes.
const KMINDEX_VERSION: &str = "0.6.1";
const KMTRICKS_VERSION: &str = "1.6.0";

/// False-positive rate per s-mer aimed at when the Bloom size is chosen from the data.
pub const TARGET_SMER_FPR: f64 = 0.05;

/// One sample of a file of files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub id: String,
    pub files: Vec<PathBuf>,
    /// s-mers seen fewer times are left out (kmtricks' `! N`; 1 by default).
    pub min_count: u32,
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The sub-index's name in the registry.
    pub name: String,
    pub smer_size: usize,
    pub minim_size: usize,
    /// Rows of the Bloom filter; chosen from the data when `None`.
    pub bloom_size: Option<u64>,
    pub nb_partitions: usize,
    /// Bits per sample and row: 1 for presence/absence, more for abundance classes.
    pub bw: usize,
    pub threads: usize,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{}, line {line}: {what}", path.display())]
    Fof {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("sample {sample}: {}{}: {what}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Input {
        sample: String,
        path: PathBuf,
        line: Option<u64>,
        what: String,
    },
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Index(#[from] super::Error),
}

/// Counters a progress display reads while the build runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub samples_done: AtomicUsize,
    pub bases: AtomicU64,
}

/// The Bloom size chosen from the data, and what to expect of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizing {
    /// Estimated distinct s-mers of the largest sample.
    pub largest_sample: u64,
    pub bloom_size: u64,
    /// Expected false-positive rate per s-mer (one hash, the largest sample).
    pub smer_fpr: f64,
    /// Expected false-positive rate per (s+z)-mer, z = 0..=5 (findere: all z + 1 s-mers).
    pub kmer_fpr: [f64; 6],
}

impl Sizing {
    /// The expected false-positive rates of a sample with `distinct` s-mers in `bloom_size` rows.
    pub fn of(distinct: u64, bloom_size: u64) -> Sizing {
        let smer_fpr = 1.0 - (-(distinct as f64) / bloom_size as f64).exp();
        Sizing {
            largest_sample: distinct,
            bloom_size,
            smer_fpr,
            kmer_fpr: std::array::from_fn(|z| smer_fpr.powi(z as i32 + 1)),
        }
    }
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub dir: PathBuf,
    pub entry: Entry,
    pub bases: u64,
    /// Set when the Bloom size was chosen from the data.
    pub sizing: Option<Sizing>,
}

/// Reads a kmtricks file of files: one `ID: file1 ; file2 [! N]` per line; blank lines and
/// lines starting with `#` are skipped; relative paths are relative to the file's folder.
pub fn read_fof(path: &Path) -> Result<Vec<Sample>, BuildError> {
    let text = std::fs::read_to_string(path).map_err(|e| BuildError::Fof {
        path: path.to_owned(),
        line: 0,
        what: format!("cannot read: {e}"),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut samples: Vec<Sample> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let error = |what: String| BuildError::Fof {
            path: path.to_owned(),
            line: number + 1,
            what,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((id, rest)) = line.split_once(':') else {
            return Err(error("expected 'ID: file1 ; file2'".into()));
        };
        let id = id.trim();
        if id.is_empty() || id.contains(char::is_whitespace) {
            return Err(error(format!("'{id}' is not a sample identifier")));
        }
        if samples.iter().any(|s| s.id == id) {
            return Err(error(format!("sample '{id}' is listed twice")));
        }
        let (files, min_count) = match rest.split_once('!') {
            Some((files, count)) => (
                files,
                count
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| error(format!("'{}' is not a count", count.trim())))?,
            ),
            None => (rest, 1),
        };
        let files: Vec<PathBuf> = files
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| base.join(f))
            .collect();
        if files.is_empty() {
            return Err(error(format!("sample '{id}' has no file")));
        }
        samples.push(Sample {
            id: id.to_owned(),
            files,
            min_count: min_count.max(1),
        });
    }
    if samples.is_empty() {
        return Err(BuildError::Fof {
            path: path.to_owned(),
            line: 0,
            what: "no sample".into(),
        });
    }
    Ok(samples)
}

/// Builds sub-index `options.name` of the index in `index_dir` from `samples`.
pub fn build(
    index_dir: &Path,
    samples: &[Sample],
    options: &BuildOptions,
    progress: &Progress,
) -> Result<BuildReport, BuildError> {
    check(index_dir, options)?;
    if samples.is_empty() {
        return Err(BuildError::Options("no sample to index".into()));
    }
    for sample in samples {
        if let Some(missing) = sample.files.iter().find(|f| !f.is_file()) {
            return Err(BuildError::Input {
                sample: sample.id.clone(),
                path: missing.clone(),
                line: None,
                what: "no such file".into(),
            });
        }
    }
    let parts = options.nb_partitions as u64;
    let repartition = Repartition::from_table(
        (0..1u32 << (2 * options.minim_size))
            .map(|m| (xxhash_rust::xxh64::xxh64(&m.to_le_bytes(), 0) % parts) as u16)
            .collect(),
    );
    let (wanted, largest) = match options.bloom_size {
        Some(size) => (size, None),
        None => {
            let largest = largest_sample(samples, options, &repartition)?;
            let rows = (largest as f64 / -(1.0 - TARGET_SMER_FPR).ln()).ceil() as u64;
            (rows, Some(largest))
        }
    };
    let hash = HashInfo::for_bloom_size(wanted, parts, options.minim_size as u32);
    let sizing = largest.map(|n| Sizing::of(n, hash.bloom_size));
    let columns = fill_columns(samples, options, &repartition, &hash, progress)?;

    let entry = Entry {
        bloom_size: hash.bloom_size,
        bw: options.bw,
        index_size: 0,
        kmindex_version: KMINDEX_VERSION.into(),
        kmtricks_version: KMTRICKS_VERSION.into(),
        minim_size: options.minim_size,
        nb_partitions: options.nb_partitions,
        nb_samples: samples.len(),
        samples: samples.iter().map(|s| s.id.clone()).collect(),
        sha1: kmindex_sha1(
            hash.bloom_size,
            parts,
            options.smer_size as u64,
            options.minim_size as u64,
            options.bw as u64,
            repartition.table(),
        ),
        smer_size: options.smer_size,
    };
    let (dir, entry) = install(index_dir, &options.name, entry, |staging| {
        write_run(staging, samples, options, &repartition, &hash, &columns)
    })?;
    Ok(BuildReport {
        dir,
        entry,
        bases: progress.bases.load(Ordering::Relaxed),
        sizing,
    })
}

/// Writes the run directory with `write` (which returns the matrices' size) in a staging
/// directory, moves it to `index_dir/<name>` and registers it; on any failure, removes what
/// it wrote and leaves the registry as it was.
fn install(
    index_dir: &Path,
    name: &str,
    mut entry: Entry,
    write: impl FnOnce(&Path) -> Result<u64, super::Error>,
) -> Result<(PathBuf, Entry), super::Error> {
    std::fs::create_dir_all(index_dir).map_err(|e| super::Error::io(index_dir, e))?;
    let staging = index_dir.join(format!(".{name}.building-{}", std::process::id()));
    let target = index_dir.join(name);
    let installed = write(&staging).and_then(|index_size| {
        entry.index_size = index_size;
        std::fs::rename(&staging, &target).map_err(|e| super::Error::io(&target, e))?;
        Registry::register(index_dir, name, &entry).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&target);
        })
    });
    match installed {
        Ok(_) => Ok((target, entry)),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

fn check(index_dir: &Path, options: &BuildOptions) -> Result<(), BuildError> {
    let fail = |what: String| Err(BuildError::Options(what));
    let name = &options.name;
    if name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\'])
        || name == "index.json"
    {
        return fail(format!("'{name}' cannot name a sub-index"));
    }
    if !(2..=MAX_SMER_SIZE).contains(&options.smer_size) {
        return fail(format!("the k-mer size must be in 2..={MAX_SMER_SIZE}"));
    }
    if !MINIM_SIZES.contains(&options.minim_size) || options.minim_size > options.smer_size {
        return fail(format!(
            "the minimizer size must be in {}..={} and at most the k-mer size",
            MINIM_SIZES.start(),
            MINIM_SIZES.end()
        ));
    }
    if !(1..=u16::MAX as usize).contains(&options.nb_partitions) {
        return fail("the number of partitions must be in 1..=65535".into());
    }
    if !(1..=8).contains(&options.bw) {
        return fail("bits per sample must be in 1..=8".into());
    }
    if options.bloom_size == Some(0) {
        return fail("the Bloom size must be positive".into());
    }
    if index_dir.join(name).exists()
        || Registry::read(index_dir).is_ok_and(|r| r.entries.contains_key(name))
    {
        return fail(format!(
            "sub-index '{name}' already exists in {}",
            index_dir.display()
        ));
    }
    Ok(())
}

/// Calls `visit` with every s-mer slot of every read of `sample`.
fn for_each_smer(
    sample: &Sample,
    hasher: &SmerHasher<'_>,
    progress: &Progress,
    mut visit: impl FnMut(SmerSlot),
) -> Result<(), BuildError> {
    for path in &sample.files {
        let input_error = |line: Option<u64>, what: String| BuildError::Input {
            sample: sample.id.clone(),
            path: path.clone(),
            line,
            what,
        };
        let file = File::open(path).map_err(|e| input_error(None, e.to_string()))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let head = reader
            .fill_buf()
            .map_err(|e| input_error(None, e.to_string()))?;
        let stream: Box<dyn Read + Send> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        let mut records = needletail::parse_fastx_reader(stream)
            .map_err(|e| input_error(Some(e.position.line), e.msg))?;
        while let Some(record) = records.next() {
            let record = record.map_err(|e| input_error(Some(e.position.line), e.msg))?;
            let seq = record.seq();
            progress
                .bases
                .fetch_add(seq.len() as u64, Ordering::Relaxed);
            for run in
                seq.split(|b| !matches!(b, b'A' | b'C' | b'G' | b'T' | b'a' | b'c' | b'g' | b't'))
            {
                hasher.for_each(run, &mut visit);
            }
        }
    }
    Ok(())
}

/// First pass when the Bloom size is not given: the distinct s-mers of the largest sample.
fn largest_sample(
    samples: &[Sample],
    options: &BuildOptions,
    repartition: &Repartition,
) -> Result<u64, BuildError> {
    // Only hashes matter here: a window of one row.
    let hasher = SmerHasher::new(
        options.smer_size,
        options.minim_size,
        1,
        repartition.table(),
    );
    let quiet = Progress::default();
    let largest = AtomicU64::new(0);
    parallel(samples, options.threads, |_, sample| {
        let mut sketch = distinct::Sketch::new();
        for_each_smer(sample, &hasher, &quiet, |slot| sketch.add(slot.hash))?;
        largest.fetch_max(sketch.estimate(), Ordering::Relaxed);
        Ok(())
    })?;
    Ok(largest.into_inner().max(1))
}

/// One sample's column of the Bloom matrix: `bw` bits per row, rows of all partitions in turn.
struct Column {
    bits: Vec<u64>,
}

impl Column {
    fn get(&self, offset: u64, bw: usize) -> u32 {
        (0..bw as u64).fold(0, |acc, i| {
            let bit = offset + i;
            (acc << 1) | ((self.bits[(bit / 64) as usize] >> (bit % 64)) & 1) as u32
        })
    }

    /// Calls `visit(row, value)` for every row in `rows` whose value is not zero.
    fn for_each_nonzero(
        &self,
        rows: std::ops::Range<u64>,
        bw: usize,
        mut visit: impl FnMut(u64, u32),
    ) {
        let bw = bw as u64;
        let (start, end) = (rows.start * bw, rows.end * bw);
        let mut last = None;
        for word_index in start / 64..end.div_ceil(64) {
            let mut word = self.bits[word_index as usize];
            while word != 0 {
                let bit = word_index * 64 + u64::from(word.trailing_zeros());
                word &= word - 1;
                let row = bit / bw;
                if !rows.contains(&row) || last == Some(row) {
                    continue;
                }
                last = Some(row);
                visit(row, self.get(row * bw, bw as usize));
            }
        }
    }

    fn set(&mut self, offset: u64, bw: usize, value: u32) {
        for i in 0..bw as u64 {
            if (value >> (bw as u64 - 1 - i)) & 1 == 1 {
                let bit = offset + i;
                self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
    }
}

/// kmtricks' abundance class: the bit length of `count`, capped at `2^bw - 1`.
pub fn abundance_class(count: u32, bw: usize) -> u32 {
    (u32::BITS - count.leading_zeros()).min((1 << bw) - 1)
}

fn fill_columns(
    samples: &[Sample],
    options: &BuildOptions,
    repartition: &Repartition,
    hash: &HashInfo,
    progress: &Progress,
) -> Result<Vec<Column>, BuildError> {
    let window = hash.window_bits;
    let hasher = SmerHasher::new(
        options.smer_size,
        options.minim_size,
        window,
        repartition.table(),
    );
    // Partitions follow each other in a column.
    let row_of = |slot: SmerSlot| u64::from(slot.partition) * window + slot.row;
    let bw = options.bw;
    let rows = hash.bloom_size;
    let columns: Vec<Mutex<Option<Column>>> = samples.iter().map(|_| Mutex::new(None)).collect();
    parallel(samples, options.threads, |index, sample| {
        let mut column = Column {
            bits: vec![0; (rows * bw as u64).div_ceil(64) as usize],
        };
        if bw == 1 && sample.min_count == 1 {
            for_each_smer(sample, &hasher, progress, |slot| {
                column.set(row_of(slot), 1, 1)
            })?;
        } else {
            let mut counts = vec![0u16; rows as usize];
            for_each_smer(sample, &hasher, progress, |slot| {
                let count = &mut counts[row_of(slot) as usize];
                *count = count.saturating_add(1);
            })?;
            for (row, &count) in counts.iter().enumerate() {
                let count = u32::from(count);
                if count >= sample.min_count {
                    column.set(row as u64 * bw as u64, bw, abundance_class(count, bw));
                }
            }
        }
        *columns[index].lock().expect("no panic while held") = Some(column);
        progress.samples_done.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })?;
    Ok(columns
        .into_iter()
        .map(|c| {
            c.into_inner()
                .expect("no panic")
                .expect("every sample filled")
        })
        .collect())
}

/// Runs `work(index, sample)` on every sample with up to `threads` threads; the first error
/// wins.
fn parallel(
    samples: &[Sample],
    threads: usize,
    work: impl Fn(usize, &Sample) -> Result<(), BuildError> + Sync,
) -> Result<(), BuildError> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<BuildError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, samples.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(sample) = samples.get(i) else { break };
                    if failure.lock().expect("no panic").is_some() {
                        break;
                    }
                    if let Err(e) = work(i, sample) {
                        failure.lock().expect("no panic").get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    match failure.into_inner().expect("no panic") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Writes the kmtricks run directory; returns the matrices' size in MiB (kmindex's
/// `index_size`).
fn write_run(
    dir: &Path,
    samples: &[Sample],
    options: &BuildOptions,
    repartition: &Repartition,
    hash: &HashInfo,
    columns: &[Column],
) -> Result<u64, super::Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e| super::Error::io(&path, e)
    };
    let write = |path: PathBuf, bytes: &[u8]| std::fs::write(&path, bytes).map_err(io(&path));
    std::fs::create_dir_all(dir.join("matrices")).map_err(io(dir))?;
    std::fs::create_dir_all(dir.join("repartition_gatb")).map_err(io(dir))?;
    write(dir.join("hash.info"), &hash.to_bytes())?;
    write(
        dir.join("repartition_gatb/repartition.minimRepart"),
        &repartition.to_bytes(options.nb_partitions as u16),
    )?;
    let fof: String = samples
        .iter()
        .map(|s| {
            let files: Vec<String> = s.files.iter().map(|f| f.display().to_string()).collect();
            format!("{}: {}\n", s.id, files.join(" ; "))
        })
        .collect();
    write(dir.join("kmtricks.fof"), fof.as_bytes())?;
    let mode = if options.bw == 1 { "bf" } else { "bfc" };
    let options_line = format!(
        "Options: dir={}, kmer_size={}, minim_size={}, nb_parts={}, bloom_size={}, bwidth={}, mode={mode}, format=bin, bf_format=howdesbt, count_format=hash, written_by=kmviz {}\n",
        dir.display(),
        options.smer_size,
        options.minim_size,
        options.nb_partitions,
        hash.bloom_size,
        options.bw,
        env!("CARGO_PKG_VERSION"),
    );
    write(dir.join("options.txt"), options_line.as_bytes())?;
    let build_infos = format!(
        "kmtricks v{KMTRICKS_VERSION}\n\nWritten by kmviz {} in kmtricks' format.\n",
        env!("CARGO_PKG_VERSION")
    );
    write(dir.join("build_infos.txt"), build_infos.as_bytes())?;

    let bw = options.bw;
    let bits = (samples.len() * bw) as u32;
    let row_bytes = (bits as usize).div_ceil(8);
    let window = hash.window_bits;
    let mut total = 0u64;
    // One partition's rows at a time: a fraction of the matrix already in memory.
    let mut rows = vec![0u8; window as usize * row_bytes];
    for p in 0..hash.nb_partitions {
        rows.fill(0);
        let first = p * window;
        for (sample, column) in columns.iter().enumerate() {
            column.for_each_nonzero(first..first + window, bw, |row, value| {
                let row = &mut rows[(row - first) as usize * row_bytes..][..row_bytes];
                if bw == 1 {
                    // Presence bits go least significant first.
                    row[sample / 8] |= 1 << (sample % 8);
                } else {
                    insert_msb_first(row, sample * bw, bw, value);
                }
            });
        }
        let path = dir.join(format!("matrices/matrix_{p}.cmbf"));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io(&path))?);
        out.write_all(&Matrix::header(bits, first, window, p as u32))
            .and_then(|()| out.write_all(&rows))
            .and_then(|()| out.flush())
            .map_err(io(&path))?;
        total += 49 + rows.len() as u64;
    }
    Ok(total / 1024 / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_bit_lengths_capped() {
        let classes: Vec<u32> = [0, 1, 2, 3, 4, 7, 8, 100]
            .iter()
            .map(|&c| abundance_class(c, 2))
            .collect();
        assert_eq!(classes, [0, 1, 2, 2, 3, 3, 3, 3]);
        assert_eq!(abundance_class(100, 3), 7);
        assert_eq!(abundance_class(100, 4), 7);
    }

    #[test]
    fn columns_pack_values_most_significant_bit_first() {
        let mut column = Column { bits: vec![0; 2] };
        column.set(62, 3, 0b101);
        assert_eq!(column.get(62, 3), 0b101);
        assert_eq!(column.get(61, 1), 0);
        assert_eq!(column.get(65, 1), 0);
    }

    #[test]
    fn nonzero_rows_are_visited_once_even_across_words() {
        let bw = 3;
        let mut column = Column { bits: vec![0; 3] };
        for (row, value) in [(0, 1), (21, 0b101), (22, 0b100), (40, 7)] {
            column.set(row * bw as u64, bw, value);
        }
        let mut seen = Vec::new();
        column.for_each_nonzero(0..42, bw, |row, value| seen.push((row, value)));
        assert_eq!(seen, [(0, 1), (21, 0b101), (22, 0b100), (40, 7)]);
        seen.clear();
        column.for_each_nonzero(1..40, bw, |row, value| seen.push((row, value)));
        assert_eq!(seen, [(21, 0b101), (22, 0b100)]);
    }
}
