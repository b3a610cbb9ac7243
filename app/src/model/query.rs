//! Query input: what a user pastes or uploads, turned into named sequences.
//!
//! Two readers share one FASTA/FASTQ parser (needletail), gzip handled first:
//! - [`read_fastx`] reads records the way kmindex does (name = header up to the first white
//!   space, sequence bytes untouched, duplicates and short records kept). The kmindex-compatible
//!   surfaces use it.
//! - [`parse_queries`] is kmviz's own input: it also accepts a bare sequence without header, and
//!   checks every record against the instance's [`InputLimits`]. Every error names the record
//!   and the limit it broke.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

/// One named sequence to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Query {
    /// The record's name: its header up to the first white space.
    pub name: String,
    /// The sequence as given (case kept; line breaks removed).
    pub seq: String,
}

/// The letters a query may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Alphabet {
    /// `ACGT`, either case.
    Dna,
    /// The IUPAC amino-acid letters (`ABCDEFGHIKLMNPQRSTVWXYZ`), either case.
    Amino,
    /// Anything.
    #[default]
    All,
}

impl Alphabet {
    fn allows(self, letter: u8) -> bool {
        match self {
            Alphabet::Dna => matches!(letter.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T'),
            Alphabet::Amino => {
                let up = letter.to_ascii_uppercase();
                up.is_ascii_uppercase() && !matches!(up, b'J' | b'O' | b'U')
            }
            Alphabet::All => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Alphabet::Dna => "dna",
            Alphabet::Amino => "amino",
            Alphabet::All => "all",
        }
    }
}

/// What an instance accepts as input (kmviz 0.8's `[input]` section, same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct InputLimits {
    /// Most queries in one submission.
    pub max_query: usize,
    /// Longest single query, in letters.
    pub max_query_size: usize,
    /// Most letters over all queries of one submission.
    pub max_size: usize,
    /// Letters allowed.
    pub alphabet: Alphabet,
}

/// Longest query name, in bytes: names become file names in downloads (a ZIP entry's name
/// is at most 65,535 bytes) and keys everywhere.
pub const MAX_NAME_LEN: usize = 1_000;

impl Default for InputLimits {
    /// What a 2-core server answers comfortably when no configuration says otherwise: the
    /// engine's memory grows with the letters of a request, and a gzip upload is only inflated
    /// up to what these allow.
    fn default() -> Self {
        InputLimits {
            max_query: 1_000,
            max_query_size: 1_000_000,
            max_size: 10_000_000,
            alphabet: Alphabet::All,
        }
    }
}

/// Why an input was refused. Records are named by their name, or by their number (1-based)
/// where they have none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is not valid FASTA/FASTQ: {0}")]
    Malformed(String),
    #[error("the gzip stream is corrupt: {0}")]
    Gzip(String),
    #[error("the input is larger than {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("record {number}: the name is not UTF-8 text")]
    NameNotUtf8 { number: usize },
    #[error("record {number}: '{name}' has a sequence that is not UTF-8 text")]
    SequenceNotUtf8 { number: usize, name: String },
    #[error("record {number} has no name")]
    Unnamed { number: usize },
    #[error("record '{name}' is empty")]
    EmptyRecord { name: String },
    #[error("record '{name}' appears twice (records {first} and {second}); names must be unique")]
    DuplicateName {
        name: String,
        first: usize,
        second: usize,
    },
    #[error("record '{name}' is query number {number}; at most {limit} queries are allowed")]
    TooManyQueries {
        name: String,
        number: usize,
        limit: usize,
    },
    #[error("record {number}: its name is {len} bytes long; the longest allowed is {MAX_NAME_LEN}")]
    NameTooLong { number: usize, len: usize },
    #[error("record '{name}' is {len} letters long; the longest query allowed is {limit}")]
    QueryTooLong {
        name: String,
        len: usize,
        limit: usize,
    },
    #[error(
        "record '{name}' brings the input to {total} letters; at most {limit} are allowed in all"
    )]
    TotalTooLong {
        name: String,
        total: usize,
        limit: usize,
    },
    #[error(
        "record '{name}' has '{letter}' at position {position}, outside the '{alphabet}' alphabet"
    )]
    Alphabet {
        name: String,
        letter: char,
        position: usize,
        alphabet: &'static str,
    },
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Decompresses gzip input (several members allowed), refusing to grow past `limit` bytes.
fn gunzip_if_needed(input: &[u8], limit: usize) -> Result<std::borrow::Cow<'_, [u8]>, InputError> {
    if !input.starts_with(&GZIP_MAGIC) {
        return Ok(input.into());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(input)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| InputError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(out.into())
}

/// Records as kmindex reads them: FASTA or FASTQ, gzip or plain. Names stop at the first white
/// space; sequences are kept byte for byte (line breaks removed); empty, short and same-named
/// records are all kept.
pub fn read_fastx(input: &[u8]) -> Result<Vec<Query>, InputError> {
    let text = gunzip_if_needed(input, usize::MAX - 1)?;
    read_records(&text)
}

fn read_records(text: &[u8]) -> Result<Vec<Query>, InputError> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(InputError::Empty);
    };
    let mut reader = needletail::parse_fastx_reader(Cursor::new(&text[start..]))
        .map_err(|e| InputError::Malformed(e.to_string()))?;
    let mut records = Vec::new();
    while let Some(record) = reader.next() {
        let record = record.map_err(|e| InputError::Malformed(e.to_string()))?;
        let number = records.len() + 1;
        let id = record.id();
        let name_end = id
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == 0x0b)
            .unwrap_or(id.len());
        let name = std::str::from_utf8(&id[..name_end])
            .map_err(|_| InputError::NameNotUtf8 { number })?
            .to_owned();
        let seq = String::from_utf8(record.seq().into_owned()).map_err(|_| {
            InputError::SequenceNotUtf8 {
                number,
                name: name.clone(),
            }
        })?;
        records.push(Query { name, seq });
    }
    Ok(records)
}

/// kmviz's query input: FASTA/FASTQ (plain or gzip) or one bare sequence (named `query`), checked
/// against `limits`. Names must be present and unique, records non-empty.
pub fn parse_queries(input: &[u8], limits: &InputLimits) -> Result<Vec<Query>, InputError> {
    // Headers and line breaks come on top of the letters: allow for them before refusing.
    let byte_limit = limits.max_size.saturating_mul(2).saturating_add(1 << 20);
    let text = gunzip_if_needed(input, byte_limit)?;
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    let queries = match first {
        None => return Err(InputError::Empty),
        Some(b'>' | b'@') => read_records(&text)?,
        Some(_) => vec![bare_sequence(&text)?],
    };
    check(&queries, limits)?;
    Ok(queries)
}

/// A header-less paste: every line is part of one sequence.
fn bare_sequence(text: &[u8]) -> Result<Query, InputError> {
    let letters: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let name = "query".to_owned();
    let seq = String::from_utf8(letters).map_err(|_| InputError::SequenceNotUtf8 {
        number: 1,
        name: name.clone(),
    })?;
    Ok(Query { name, seq })
}

fn check(queries: &[Query], limits: &InputLimits) -> Result<(), InputError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(queries.len());
    let mut total = 0usize;
    for (index, query) in queries.iter().enumerate() {
        let number = index + 1;
        let name = &query.name;
        if name.is_empty() {
            return Err(InputError::Unnamed { number });
        }
        if name.len() > MAX_NAME_LEN {
            return Err(InputError::NameTooLong {
                number,
                len: name.len(),
            });
        }
        if let Some(first) = seen.insert(name, number) {
            return Err(InputError::DuplicateName {
                name: name.clone(),
                first,
                second: number,
            });
        }
        if number > limits.max_query {
            return Err(InputError::TooManyQueries {
                name: name.clone(),
                number,
                limit: limits.max_query,
            });
        }
        let len = query.seq.len();
        if len == 0 {
            return Err(InputError::EmptyRecord { name: name.clone() });
        }
        if len > limits.max_query_size {
            return Err(InputError::QueryTooLong {
                name: name.clone(),
                len,
                limit: limits.max_query_size,
            });
        }
        total = total.saturating_add(len);
        if total > limits.max_size {
            return Err(InputError::TotalTooLong {
                name: name.clone(),
                total,
                limit: limits.max_size,
            });
        }
        if let Some(position) = query.seq.bytes().position(|b| !limits.alphabet.allows(b)) {
            return Err(InputError::Alphabet {
                name: name.clone(),
                letter: query.seq[position..].chars().next().unwrap_or('?'),
                position: position + 1,
                alphabet: limits.alphabet.name(),
            });
        }
    }
    Ok(())
}

/// What is accepted but will not search as meant: under alphabet `all`, letters outside
/// `ACGTN` (a protein, a GenBank paste with numbers and spaces), which no DNA k-mer holds; and
/// queries shorter than a chosen database's k-mers (`kmer_sizes`: its name and shortest k-mer),
/// which find nothing there. One line per query and kind, the first [`WARNED_QUERIES`], then
/// how many more.
pub fn warnings(
    queries: &[Query],
    limits: &InputLimits,
    kmer_sizes: &[(String, usize)],
) -> Vec<String> {
    let mut lines = unusual_letters(queries, limits);
    lines.extend(too_short(queries, kmer_sizes));
    lines
}

/// The first [`WARNED_QUERIES`] of `flagged` as lines, then how many more `what`.
fn said<T>(flagged: &[T], line: impl Fn(&T) -> String, what: &str) -> Vec<String> {
    let mut lines: Vec<String> = flagged.iter().take(WARNED_QUERIES).map(line).collect();
    if flagged.len() > WARNED_QUERIES {
        lines.push(format!(
            "and {} more queries {what}",
            flagged.len() - WARNED_QUERIES
        ));
    }
    lines
}

fn too_short(queries: &[Query], kmer_sizes: &[(String, usize)]) -> Vec<String> {
    let flagged: Vec<(&Query, Vec<&(String, usize)>)> = queries
        .iter()
        .map(|q| {
            let len = q.seq.len();
            (
                q,
                kmer_sizes
                    .iter()
                    .filter(|(_, k)| len < *k)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, short_for)| !short_for.is_empty())
        .collect();
    let line = |(q, short_for): &(&Query, Vec<&(String, usize)>)| {
        let databases: Vec<String> = short_for
            .iter()
            .map(|(name, k)| format!("{name} ({k})"))
            .collect();
        format!(
            "query '{}': {} letters, shorter than the k-mers of {}; nothing can be found there",
            q.name,
            q.seq.len(),
            databases.join(", ")
        )
    };
    said(&flagged, line, "too short for a database")
}

fn unusual_letters(queries: &[Query], limits: &InputLimits) -> Vec<String> {
    if limits.alphabet != Alphabet::All {
        return Vec::new();
    }
    let unusual = |q: &Query| {
        q.seq
            .bytes()
            .filter(|b| !matches!(b.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'N'))
            .count()
    };
    let flagged: Vec<(&Query, usize)> = queries
        .iter()
        .map(|q| (q, unusual(q)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let line = |(q, n): &(&Query, usize)| {
        format!(
            "query '{}': {n} of {} letters are not A, C, G, T or N; k-mers holding them are never found",
            q.name,
            q.seq.len()
        )
    };
    said(&flagged, line, "with such letters")
}

/// Queries named one by one in [`warnings`].
pub const WARNED_QUERIES: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn names(queries: &[Query]) -> Vec<&str> {
        queries.iter().map(|q| q.name.as_str()).collect()
    }

    #[test]
    fn reads_fasta_with_comments_multiline_crlf_and_blank_lines() {
        let input = b"\n\n>q1 some comment\r\nACGT\r\nacgt\r\n\r\n>q2\r\nNNNN\r\n";
        let queries = parse_queries(input, &InputLimits::default()).unwrap();
        assert_eq!(names(&queries), ["q1", "q2"]);
        assert_eq!(queries[0].seq, "ACGTacgt");
        assert_eq!(queries[1].seq, "NNNN");
    }

    #[test]
    fn reads_fastq_and_gzip() {
        let fastq = b"@r1 x\nACGTA\n+\nIIIII\n@r2\nGG\n+\nII\n";
        let plain = parse_queries(fastq, &InputLimits::default()).unwrap();
        assert_eq!(names(&plain), ["r1", "r2"]);
        assert_eq!(plain[0].seq, "ACGTA");
        let zipped = parse_queries(&gzip(fastq), &InputLimits::default()).unwrap();
        assert_eq!(plain, zipped);
    }

    #[test]
    fn a_bare_sequence_is_one_query() {
        let queries = parse_queries(b"ACGTAC\r\nGGTT\n\n", &InputLimits::default()).unwrap();
        assert_eq!(
            queries,
            [Query {
                name: "query".into(),
                seq: "ACGTACGGTT".into()
            }]
        );
    }

    #[test]
    fn refuses_empty_input_and_empty_records() {
        assert_eq!(
            parse_queries(b"  \n", &InputLimits::default()),
            Err(InputError::Empty)
        );
        let err = parse_queries(b">a\nACGT\n>b\n>c\nAC\n", &InputLimits::default()).unwrap_err();
        assert_eq!(err, InputError::EmptyRecord { name: "b".into() });
        assert_eq!(err.to_string(), "record 'b' is empty");
    }

    #[test]
    fn refuses_duplicate_and_missing_names() {
        let err =
            parse_queries(b">a\nAC\n>b\nAC\n>a x\nGG\n", &InputLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 'a' appears twice (records 1 and 3); names must be unique"
        );
        let err = parse_queries(b">a\nAC\n>\nGG\n", &InputLimits::default()).unwrap_err();
        assert_eq!(err, InputError::Unnamed { number: 2 });
    }

    #[test]
    fn enforces_each_limit_naming_record_and_limit() {
        let input = b">a\nACGT\n>b\nACGTACGT\n>c\nAC\n";
        let limits = |f: fn(&mut InputLimits)| {
            let mut l = InputLimits::default();
            f(&mut l);
            l
        };
        let err = parse_queries(input, &limits(|l| l.max_query = 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 'c' is query number 3; at most 2 queries are allowed"
        );
        let err = parse_queries(input, &limits(|l| l.max_query_size = 5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 'b' is 8 letters long; the longest query allowed is 5"
        );
        let err = parse_queries(input, &limits(|l| l.max_size = 13)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 'c' brings the input to 14 letters; at most 13 are allowed in all"
        );
        assert!(parse_queries(input, &limits(|l| l.max_size = 14)).is_ok());
    }

    #[test]
    fn warns_of_letters_outside_acgtn_under_alphabet_all() {
        let read = |text: &str| parse_queries(text.as_bytes(), &InputLimits::default()).unwrap();
        let all = InputLimits::default();
        assert!(warnings(&read(">a\nACGTNacgtn\n"), &all, &[]).is_empty());
        assert_eq!(
            warnings(&read(">p\nMKVLAT\n>d\nACGT\n"), &all, &[]),
            [
                "query 'p': 4 of 6 letters are not A, C, G, T or N; k-mers holding them are never found"
            ]
        );
        let many: String = (0..7).map(|i| format!(">q{i}\nXX!!12\n")).collect();
        let lines = warnings(&read(&many), &all, &[]);
        assert_eq!(lines.len(), WARNED_QUERIES + 1);
        assert_eq!(
            lines[WARNED_QUERIES],
            "and 2 more queries with such letters"
        );
        // A protein index's instance (amino) or a DNA one (refused before) is not warned.
        let amino = InputLimits {
            alphabet: Alphabet::Amino,
            ..all
        };
        assert!(warnings(&read(">p\nMKVLAT\n"), &amino, &[]).is_empty());
    }

    #[test]
    fn warns_of_queries_shorter_than_a_databases_kmers() {
        let read = |text: &str| parse_queries(text.as_bytes(), &InputLimits::default()).unwrap();
        let limits = InputLimits::default();
        let sizes = [("survey".to_owned(), 28), ("ocean".to_owned(), 31)];
        let queries = read(
            ">long\nACGTACGTACGTACGTACGTACGTACGTACGTA\n>mid\nACGTACGTACGTACGTACGTACGTACGTA\n>short\nACGT\n",
        );
        assert_eq!(
            warnings(&queries, &limits, &sizes),
            [
                "query 'mid': 29 letters, shorter than the k-mers of ocean (31); nothing can be found there",
                "query 'short': 4 letters, shorter than the k-mers of survey (28), ocean (31); nothing can be found there",
            ]
        );
        assert!(warnings(&queries, &limits, &[]).is_empty());
        let many: String = (0..8).map(|i| format!(">q{i}\nACGT\n")).collect();
        let lines = warnings(&read(&many), &limits, &sizes[..1]);
        assert_eq!(lines.len(), WARNED_QUERIES + 1);
        assert_eq!(
            lines[WARNED_QUERIES],
            "and 3 more queries too short for a database"
        );
    }

    #[test]
    fn enforces_the_alphabet() {
        let dna = InputLimits {
            alphabet: Alphabet::Dna,
            ..InputLimits::default()
        };
        assert!(parse_queries(b">a\nACGTacgt\n", &dna).is_ok());
        let err = parse_queries(b">a\nACGTN\n", &dna).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 'a' has 'N' at position 5, outside the 'dna' alphabet"
        );
        let amino = InputLimits {
            alphabet: Alphabet::Amino,
            ..InputLimits::default()
        };
        assert!(parse_queries(b">p\nMKVLAAGIW\n", &amino).is_ok());
        assert!(matches!(
            parse_queries(b">p\nMKJ\n", &amino),
            Err(InputError::Alphabet { letter: 'J', .. })
        ));
        let all = InputLimits::default();
        assert!(parse_queries(b">p\nM*-.K\n", &all).is_ok());
    }

    #[test]
    fn names_longer_than_the_cap_are_refused() {
        let name = "n".repeat(MAX_NAME_LEN);
        let ok = format!(">{name}\nACGT\n");
        assert!(parse_queries(ok.as_bytes(), &InputLimits::default()).is_ok());
        let long = format!(">a\nACGT\n>{name}x\nACGT\n");
        let err = parse_queries(long.as_bytes(), &InputLimits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "record 2: its name is 1001 bytes long; the longest allowed is 1000"
        );
    }

    #[test]
    fn malformed_input_is_refused_with_the_parser_reason() {
        let err = parse_queries(b"@a\nACGT\n+\nII\n", &InputLimits::default()).unwrap_err();
        assert!(matches!(err, InputError::Malformed(_)), "{err:?}");
        let err = parse_queries(&[0x1f, 0x8b, 1, 2, 3], &InputLimits::default()).unwrap_err();
        assert!(matches!(err, InputError::Gzip(_)), "{err:?}");
    }

    #[test]
    fn kmindex_reading_keeps_duplicates_empty_records_and_raw_letters() {
        let records = read_fastx(b">a x\nACnN\n>a\n\n>b\tc\nAC\n").unwrap();
        assert_eq!(names(&records), ["a", "a", "b"]);
        assert_eq!(records[0].seq, "ACnN");
        assert_eq!(records[1].seq, "");
    }
}
