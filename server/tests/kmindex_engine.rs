//! The native engine on kmindex's fixture indexes, checked against what the data must give:
//! every sequence indexed in a sample is found there whole (Bloom filters have no false
//! negatives), findere's k-mers are the AND of their s-mers, strands and case do not matter,
//! abundance classes are kmtricks' log2 classes of the counts, and each format says the same.

mod common;

use std::collections::HashMap;

use common::{fixture_index, records, revcomp};
use kmindex::{Format, Index, QueryResult, SubIndex, output};

fn open() -> Index {
    Index::open(&fixture_index()).expect("open the fixture index")
}

fn query(sub: &SubIndex, seqs: &[&str], z: usize) -> Vec<QueryResult> {
    let seqs: Vec<&[u8]> = seqs.iter().map(|s| s.as_bytes()).collect();
    sub.query(&seqs, z, true).unwrap()
}

fn sample_column(sub: &SubIndex, name: &str) -> usize {
    sub.samples().iter().position(|s| s == name).unwrap()
}

#[test]
fn every_indexed_sequence_is_found_whole_in_its_sample_for_every_z() {
    let index = open();
    let pa = index.get("pa").unwrap();
    for sample in [0, 1, 7, 15] {
        let recs = records("pa_dataset", sample);
        let seqs: Vec<&str> = recs.iter().map(|q| q.seq.as_str()).collect();
        let column = sample_column(pa, &format!("D{sample}"));
        for z in 0..=5 {
            let results = query(pa, &seqs, z);
            for (record, result) in recs.iter().zip(&results) {
                assert_eq!(result.nb_kmers, record.seq.len() - 25 - z + 1);
                assert_eq!(
                    result.ratios[column], 1.0,
                    "D{sample} record {} z={z}",
                    record.name
                );
            }
            // Other samples hold these sequences only by false positives, rarer as z grows.
            let others: f64 = results
                .iter()
                .flat_map(|r| {
                    r.ratios
                        .iter()
                        .enumerate()
                        .filter(|(s, _)| *s != column)
                        .map(|(_, r)| r)
                })
                .sum::<f64>()
                / (results.len() * 15) as f64;
            assert!(
                others < [0.5, 0.2, 0.1, 0.05, 0.05, 0.05][z],
                "mean false positive ratio {others} at z={z}"
            );
        }
    }
}

#[test]
fn findere_kmers_are_the_and_of_their_smers() {
    let index = open();
    for name in ["pa", "abs"] {
        let sub = index.get(name).unwrap();
        let recs = records(
            if name == "pa" {
                "pa_dataset"
            } else {
                "abs_dataset"
            },
            3,
        );
        // Mix in sequences from elsewhere so that samples are partly present.
        let mut seqs: Vec<String> = recs.iter().take(40).map(|q| q.seq.clone()).collect();
        for other in records("pa_dataset", 9).iter().take(20) {
            seqs.push(format!("{}{}", &seqs[0][..50], &other.seq[..60]));
        }
        let seqs: Vec<&str> = seqs.iter().map(String::as_str).collect();
        let smers = query(sub, &seqs, 0);
        for z in 1..=5 {
            for (base, kmers) in smers.iter().zip(query(sub, &seqs, z)) {
                let base_positions = base.positions.as_ref().unwrap();
                let positions = kmers.positions.as_ref().unwrap();
                for sample in 0..16 {
                    let base_values = base_positions.kmers(sample).values();
                    let expected: Vec<u32> = (0..kmers.nb_kmers)
                        .map(|i| *base_values[i..=i + z].iter().min().unwrap())
                        .collect();
                    assert_eq!(
                        positions.kmers(sample).values(),
                        expected,
                        "{name} z={z} sample {sample}"
                    );
                    let present = expected.iter().filter(|&&v| v != 0).count();
                    assert_eq!(kmers.ratios[sample], present as f64 / kmers.nb_kmers as f64);
                }
            }
        }
    }
}

#[test]
fn strands_and_case_give_the_same_answer() {
    let index = open();
    for name in ["pa", "abs"] {
        let sub = index.get(name).unwrap();
        let recs = records("pa_dataset", 4);
        for record in recs.iter().take(30) {
            let forward = &query(sub, &[&record.seq], 2)[0];
            let reverse = &query(sub, &[&revcomp(&record.seq)], 2)[0];
            let lower = &query(sub, &[&record.seq.to_lowercase()], 2)[0];
            assert_eq!(forward, lower);
            assert_eq!(forward.ratios, reverse.ratios);
            assert_eq!(forward.counts, reverse.counts);
            let values = |r: &kmindex::QueryResult| -> Vec<Vec<u32>> {
                let positions = r.positions.as_ref().unwrap();
                (0..16).map(|s| positions.kmers(s).values()).collect()
            };
            let mut flipped = values(reverse);
            flipped.iter_mut().for_each(|p| p.reverse());
            assert_eq!(values(forward), flipped);
        }
    }
}

#[test]
fn n_reads_as_c_in_the_first_smer_and_as_g_after_it_as_in_kmindex() {
    let index = open();
    let pa = index.get("pa").unwrap();
    let seq = records("pa_dataset", 2)[0].seq.clone();
    // Letters that N does not already stand for, in and after the first s-mer.
    let first = seq[..25].find(|c| c != 'C').unwrap();
    let later = 25 + seq[25..].find(|c| c != 'G').unwrap();
    let with = |a: char, b: char| {
        let mut s: Vec<char> = seq.chars().collect();
        s[first] = a;
        s[later] = b;
        s.into_iter().collect::<String>()
    };
    let n = &query(pa, &[&with('N', 'N')], 0)[0];
    assert_eq!(n, &query(pa, &[&with('C', 'G')], 0)[0]);
    assert_ne!(n, &query(pa, &[&with('A', 'A')], 0)[0]);
    // N breaks the k-mers around it in D2.
    assert!(n.ratios[sample_column(pa, "D2")] < 1.0);
}

#[test]
fn queries_must_be_at_least_s_plus_z_long() {
    let index = open();
    let pa = index.get("pa").unwrap();
    let seq = &records("pa_dataset", 5)[0].seq;
    for z in 0..=5 {
        let exact = &seq[..25 + z];
        let result = &query(pa, &[exact], z)[0];
        assert_eq!(result.nb_kmers, 1);
        assert_eq!(result.ratios[sample_column(pa, "D5")], 1.0);
        let err = pa
            .query(&[&seq.as_bytes()[..24 + z]], z, false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "sequence of {} letters is shorter than s + z = {}",
                24 + z,
                25 + z
            )
        );
    }
}

#[test]
fn the_threshold_keeps_samples_at_or_above_it() {
    let index = open();
    let pa = index.get("pa").unwrap();
    let d1 = records("pa_dataset", 1);
    let d2 = records("pa_dataset", 2);
    // Half D1, half D2: both samples hold part of it.
    let chimera = format!("{}{}", &d1[0].seq[..70], &d2[0].seq[..50]);
    let result = query(pa, &[&chimera], 1);
    let ratio_d2 = result[0].ratios[sample_column(pa, "D2")];
    assert!(ratio_d2 > 0.0 && ratio_d2 < 1.0, "{ratio_d2}");
    let json = |r: f64| {
        let text = output::records(pa, &["q"], &result, Format::Json, r);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        doc["pa"]["q"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(json(0.0).len(), 16, "r = 0 keeps every sample");
    // Exactly on D2's ratio (as printed, then read back): kept.
    let printed: f64 = kmindex::number::nlohmann(ratio_d2).parse().unwrap();
    assert!(json(printed).contains(&"D2".to_owned()));
    assert!(!json(ratio_d2.next_up()).contains(&"D2".to_owned()));
    assert!(json(ratio_d2.next_up()).contains(&"D1".to_owned()));
}

/// kmtricks' abundance classes: the bit length of the count, capped at 2^bw - 1.
fn class(count: u32, bw: u32) -> u32 {
    (32 - count.leading_zeros()).min((1 << bw) - 1)
}

#[test]
fn abundance_classes_are_the_log2_classes_of_the_counts() {
    let index = open();
    let abs = index.get("abs").unwrap();
    assert_eq!(abs.bw(), 2);
    for sample in [0, 6, 11] {
        let recs = records("abs_dataset", sample);
        let mut multiplicity: HashMap<&str, u32> = HashMap::new();
        for r in &recs {
            *multiplicity.entry(r.seq.as_str()).or_default() += 1;
        }
        let distinct: Vec<&str> = multiplicity.keys().copied().collect();
        let results = query(abs, &distinct, 0);
        let column = sample_column(abs, &format!("D{sample}"));
        let (mut exact, mut total) = (0, 0);
        for (seq, result) in distinct.iter().zip(&results) {
            let want = class(multiplicity[seq], 2);
            let positions = result.positions.as_ref().unwrap().kmers(column).values();
            // Collisions in the Bloom filter can only add counts.
            assert!(positions.iter().all(|&p| p >= want), "{seq}");
            assert_eq!(result.ratios[column], 1.0);
            exact += positions.iter().filter(|&&p| p == want).count();
            total += positions.len();
            let mean = positions.iter().sum::<u32>() / positions.len() as u32;
            assert_eq!(result.counts[column], mean);
        }
        // A row also counts the other k-mers hashed to it: a few k-mers read a higher class.
        assert!(
            exact * 10 >= total * 9,
            "only {exact} of {total} k-mers have their exact class"
        );
        assert!(
            multiplicity.values().any(|&m| m >= 4),
            "the dataset has counts up to the top class"
        );
    }
}

#[test]
fn every_format_says_the_same_thing() {
    let index = open();
    for name in ["pa", "abs"] {
        let sub = index.get(name).unwrap();
        let recs = records("pa_dataset", 8);
        let seqs: Vec<&str> = recs.iter().take(5).map(|q| q.seq.as_str()).collect();
        let names = ["a", "b", "c", "d", "e"];
        let results = query(sub, &seqs, 3);
        let json: serde_json::Value =
            serde_json::from_str(&output::records(sub, &names, &results, Format::Json, 0.0))
                .unwrap();
        let json_vec: serde_json::Value = serde_json::from_str(&output::records(
            sub,
            &names,
            &results,
            Format::JsonVec,
            0.0,
        ))
        .unwrap();
        let tsv = output::records(sub, &names, &results, Format::Tsv, 0.0);
        let mut lines = tsv.lines();
        assert_eq!(
            lines.next().unwrap(),
            format!("{name}\t{}", sub.samples().join("\t"))
        );
        for ((q, result), line) in names.iter().zip(&results).zip(lines) {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells[0], format!("{name}:{q}"));
            for (column, sample) in sub.samples().iter().enumerate() {
                let vec = &json_vec[name][q][sample];
                assert_eq!(vec["R"].as_f64().unwrap(), result.ratios[column]);
                let p: Vec<u64> = vec["P"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                assert_eq!(p.len(), result.nb_kmers);
                if name == "pa" {
                    assert_eq!(
                        json[name][q][sample].as_f64().unwrap(),
                        result.ratios[column]
                    );
                    assert_eq!(
                        cells[column + 1].parse::<f64>().unwrap(),
                        result.ratios[column]
                    );
                    assert_eq!(
                        vec.as_object().unwrap().keys().collect::<Vec<_>>(),
                        ["P", "R"]
                    );
                } else {
                    assert_eq!(
                        json[name][q][sample].as_u64().unwrap(),
                        u64::from(result.counts[column])
                    );
                    assert_eq!(cells[column + 1], result.counts[column].to_string());
                    assert_eq!(vec["C"].as_u64().unwrap(), u64::from(result.counts[column]));
                    assert_eq!(
                        vec.as_object().unwrap().keys().collect::<Vec<_>>(),
                        ["C", "P", "R"]
                    );
                }
            }
        }
    }
}
