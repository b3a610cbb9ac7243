//! The embedded demo: a small ocean survey made up from a seed, so that one command gives a
//! working instance with real sequence data and nothing to download.
//!
//! About 200 sampling stations get a position, a depth layer, a temperature, a date and a
//! biome; a handful of made-up "species" genomes each prefer some temperature, depth and
//! coasts, so their abundance across stations follows those variables; each station's sample is
//! reads drawn from the species in proportion to their abundance there, with sequencing errors.
//! Beside the samples come a metadata table and a FASTA of example queries (fragments of each
//! species, a mutated one, and one found nowhere). The same seed always gives the same files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kmindex::build::{self, BuildOptions, BuildReport, Progress, Sample};

/// The seed of the standard demo.
pub const DEFAULT_SEED: u64 = 2009;
/// The demo's sub-index.
pub const SUB_INDEX: &str = "survey";

/// The survey's figure presets, in kmviz 0.8's `presets.toml` format.
pub const PRESETS: &str = r#"
[plot."coverage by temperature"]
type = "Scatter"
X = ["Temp"]
Y = ["CovXK"]
color = "Biome"

[plot."abundance by layer"]
type = "Box"
X = ["Layer"]
Y = ["CovYK"]

[map.coverage]
color = "CovXK"
size = "CovYK"
projection = "natural earth"
[map.coverage.title]
title_text = "Where the query is found"

[defaults]
plot = "coverage by temperature"
map = "coverage"
"#;

/// [`PRESETS`] as the API serves them.
pub fn presets() -> app::api::Presets {
    toml::from_str(PRESETS).expect("the demo's presets are valid TOML")
}

const STATIONS: usize = 200;
const READS_PER_STATION: usize = 1500;
const READ_LENGTH: usize = 100;
const ERROR_RATE: f64 = 0.005;
const QUERY_LENGTH: usize = 300;

/// The demo's files.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The kmindex index (sub-index [`SUB_INDEX`]).
    pub index: PathBuf,
    /// One row per station: `ID`, `Lat`, `Long`, `Depth`, `Temp`, `Date`, `Biome`, `Layer`.
    pub metadata: PathBuf,
    /// Example queries.
    pub queries: PathBuf,
    /// Set when the index was built by this call (not reused).
    pub built: Option<BuildReport>,
}

/// Why the demo could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write the demo's files in {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Build(#[from] build::BuildError),
}

/// Makes the demo in `data_dir`, or reuses what a previous run made there.
pub fn prepare(data_dir: &Path, seed: u64, threads: usize) -> Result<Demo, DemoError> {
    let index = data_dir.join("index");
    let metadata = data_dir.join("metadata.tsv");
    let queries = data_dir.join("queries.fa");
    let ready = kmindex::registry::Registry::read(&index)
        .is_ok_and(|r| r.entries.contains_key(SUB_INDEX))
        && metadata.is_file()
        && queries.is_file();
    let built = if ready {
        None
    } else {
        let _ = std::fs::remove_dir_all(&index);
        let samples = generate(data_dir, seed).map_err(|source| DemoError::Write {
            dir: data_dir.to_owned(),
            source,
        })?;
        let options = BuildOptions {
            name: SUB_INDEX.into(),
            smer_size: 25,
            minim_size: 10,
            bloom_size: None,
            nb_partitions: 4,
            bw: 2,
            threads,
        };
        Some(build::build(
            &index,
            &samples,
            &options,
            &Progress::default(),
        )?)
    };
    Ok(Demo {
        index,
        metadata,
        queries,
        built,
    })
}

/// Writes the survey's samples (`samples/<ID>.fa`), `metadata.tsv`, `queries.fa` and
/// `species.fa` into `dir`; returns the samples to index. One function: the files are written
/// from one stream of random numbers, in an order the seed's reproducibility depends on.
pub fn generate(dir: &Path, seed: u64) -> std::io::Result<Vec<Sample>> {
    let mut rng = Rng(seed);
    let species: Vec<Species> = SPECIES
        .iter()
        .map(|niche| Species {
            niche,
            genome: random_genome(&mut rng, niche.genome_length, niche.gc),
        })
        .collect();
    let stations: Vec<Station> = (0..STATIONS).map(|i| Station::draw(i, &mut rng)).collect();

    std::fs::create_dir_all(dir.join("samples"))?;
    let mut samples = Vec::with_capacity(stations.len());
    for station in &stations {
        let weights: Vec<f64> = species.iter().map(|s| s.niche.abundance(station)).collect();
        let total: f64 = weights.iter().sum();
        let mut fasta = String::with_capacity(READS_PER_STATION * (READ_LENGTH + 16));
        for read in 0..READS_PER_STATION {
            let mut pick = rng.unit() * total;
            let source = weights
                .iter()
                .position(|&w| {
                    pick -= w;
                    pick < 0.0
                })
                .unwrap_or(weights.len() - 1);
            let seq = draw_read(&mut rng, &species[source].genome);
            let _ = writeln!(fasta, ">{}_{read}\n{seq}", station.id);
        }
        let path = dir.join(format!("samples/{}.fa", station.id));
        std::fs::write(&path, fasta)?;
        samples.push(Sample {
            id: station.id.clone(),
            files: vec![path],
            min_count: 1,
        });
    }

    let mut table = String::from("ID\tLat\tLong\tDepth\tTemp\tDate\tBiome\tLayer\n");
    for s in &stations {
        let _ = writeln!(
            table,
            "{}\t{:.3}\t{:.3}\t{}\t{:.1}\t{}\t{}\t{}",
            s.id, s.lat, s.lon, s.depth, s.temperature, s.date, s.biome, s.layer
        );
    }
    std::fs::write(dir.join("metadata.tsv"), table)?;

    let mut genomes = String::new();
    let mut queries = String::new();
    for s in &species {
        let _ = writeln!(genomes, ">{} {}\n{}", s.niche.name, s.niche.about, s.genome);
        let start = rng.below(s.genome.len() - QUERY_LENGTH);
        let _ = writeln!(
            queries,
            ">{} fragment of {}\n{}",
            s.niche.name,
            s.niche.about,
            &s.genome[start..start + QUERY_LENGTH]
        );
    }
    let warm = &species[0].genome[..QUERY_LENGTH];
    let mutated: String = warm
        .bytes()
        .map(|b| {
            if rng.unit() < 0.03 {
                other_base(&mut rng, b)
            } else {
                b as char
            }
        })
        .collect();
    let _ = writeln!(
        queries,
        ">{}_mutated 3% substitutions\n{mutated}",
        species[0].niche.name
    );
    let absent = random_genome(&mut rng, QUERY_LENGTH, 0.5);
    let _ = writeln!(queries, ">absent found in no species\n{absent}");
    std::fs::write(dir.join("species.fa"), genomes)?;
    std::fs::write(dir.join("queries.fa"), queries)?;
    Ok(samples)
}

/// Where a species thrives.
struct Niche {
    name: &'static str,
    about: &'static str,
    genome_length: usize,
    gc: f64,
    /// Preferred temperature and tolerance (°C).
    temperature: (f64, f64),
    /// Preferred depth and tolerance (m, on a log scale).
    depth: (f64, f64),
    /// Extra weight at coastal stations.
    coastal: f64,
}

impl Niche {
    fn abundance(&self, station: &Station) -> f64 {
        let t = (station.temperature - self.temperature.0) / self.temperature.1;
        let d = (f64::from(station.depth).ln() - self.depth.0.ln()) / self.depth.1;
        let coast = if station.biome == "Coastal" {
            self.coastal
        } else {
            1.0
        };
        // A floor keeps every species present at low levels everywhere.
        0.002 + (-0.5 * (t * t + d * d)).exp() * coast
    }
}

const SPECIES: [Niche; 6] = [
    Niche {
        name: "warm_cyanobacterium",
        about: "warm, sunlit surface water",
        genome_length: 12_000,
        gc: 0.36,
        temperature: (27.0, 3.0),
        depth: (5.0, 1.0),
        coastal: 1.0,
    },
    Niche {
        name: "polar_diatom",
        about: "cold, polar surface water",
        genome_length: 10_000,
        gc: 0.45,
        temperature: (1.0, 3.0),
        depth: (10.0, 1.2),
        coastal: 1.5,
    },
    Niche {
        name: "temperate_haptophyte",
        about: "temperate water at the chlorophyll maximum",
        genome_length: 9_000,
        gc: 0.55,
        temperature: (15.0, 4.0),
        depth: (50.0, 0.8),
        coastal: 1.0,
    },
    Niche {
        name: "deep_archaeon",
        about: "dark, mesopelagic water",
        genome_length: 11_000,
        gc: 0.33,
        temperature: (6.0, 6.0),
        depth: (500.0, 0.7),
        coastal: 0.5,
    },
    Niche {
        name: "coastal_phage",
        about: "coastal water, all latitudes",
        genome_length: 6_000,
        gc: 0.42,
        temperature: (15.0, 12.0),
        depth: (10.0, 1.5),
        coastal: 8.0,
    },
    Niche {
        name: "cosmopolitan_bacterium",
        about: "everywhere, a little",
        genome_length: 8_000,
        gc: 0.50,
        temperature: (15.0, 20.0),
        depth: (50.0, 3.0),
        coastal: 1.0,
    },
];

struct Species {
    niche: &'static Niche,
    genome: String,
}

struct Station {
    id: String,
    lat: f64,
    lon: f64,
    depth: u32,
    layer: &'static str,
    temperature: f64,
    date: String,
    biome: &'static str,
}

impl Station {
    fn draw(i: usize, rng: &mut Rng) -> Station {
        let lat = -65.0 + 140.0 * rng.unit();
        let lon = -180.0 + 360.0 * rng.unit();
        let (layer, depth) = match rng.below(3) {
            0 => ("SRF", 5),
            1 => ("DCM", 30 + rng.below(90) as u32),
            _ => ("MES", 200 + rng.below(800) as u32),
        };
        let coastal = rng.unit() < 0.2;
        let biome = match lat.abs() {
            _ if coastal => "Coastal",
            a if a >= 55.0 => "Polar",
            a if a >= 30.0 => "Westerlies",
            _ => "Trades",
        };
        let surface = 29.0 - 0.45 * lat.abs();
        let cooling = (f64::from(depth) / 150.0).min(4.0) * 3.0;
        let temperature = (surface - cooling + rng.normal()).clamp(-1.8, 30.5);
        // Sampling days from 2009-09-01 over three and a half years.
        let date = civil_date(14_488 + rng.below(1_270) as i64);
        Station {
            id: format!("ST{:03}_{layer}", i + 1),
            lat,
            lon,
            depth,
            layer,
            temperature,
            date,
            biome,
        }
    }
}

fn random_genome(rng: &mut Rng, length: usize, gc: f64) -> String {
    (0..length)
        .map(|_| {
            let strong = rng.unit() < gc;
            match (strong, rng.below(2)) {
                (true, 0) => 'G',
                (true, _) => 'C',
                (false, 0) => 'A',
                (false, _) => 'T',
            }
        })
        .collect()
}

fn draw_read(rng: &mut Rng, genome: &str) -> String {
    let start = rng.below(genome.len() - READ_LENGTH);
    let fragment = &genome.as_bytes()[start..start + READ_LENGTH];
    let reverse = rng.below(2) == 1;
    (0..READ_LENGTH)
        .map(|i| {
            let base = if reverse {
                complement(fragment[READ_LENGTH - 1 - i])
            } else {
                fragment[i]
            };
            if rng.unit() < ERROR_RATE {
                other_base(rng, base)
            } else {
                base as char
            }
        })
        .collect()
}

fn complement(base: u8) -> u8 {
    match base {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        _ => b'A',
    }
}

fn other_base(rng: &mut Rng, base: u8) -> char {
    let others: Vec<u8> = b"ACGT".iter().copied().filter(|&b| b != base).collect();
    others[rng.below(others.len())] as char
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Hinnant's civil-from-days).
pub(crate) fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(14_488), "2009-09-01");
        assert_eq!(civil_date(19_783), "2024-03-01");
    }
}
