//! kmviz's number printing against the C++ libraries kmindex prints with (nlohmann::json 3.11
//! and {fmt} 9, from Debian's packages): the same text for every ratio a/b with b up to 1500
//! and for random doubles. `cargo xtask test` installs g++ and the two libraries.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use kmindex::number;

fn oracle() -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/numbers.cpp");
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("numbers-oracle");
    let status = Command::new("g++")
        .args(["-std=c++17", "-O1", "-o"])
        .arg(&binary)
        .arg(&source)
        .arg("-lfmt")
        .status()
        .expect("g++ is needed for this test: run `cargo xtask test`, which installs it");
    assert!(
        status.success(),
        "cannot build the oracle: it needs Debian's nlohmann-json3-dev and libfmt-dev (`cargo xtask test` installs them)"
    );
    binary
}

fn values() -> Vec<f64> {
    let mut values = vec![
        0.0,
        1.0,
        0.5,
        1e-5,
        1e-4,
        123456.789,
        1e15,
        1e16,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
    ];
    for b in 1..=1500u32 {
        for a in 0..=b {
            values.push(f64::from(a) / f64::from(b));
        }
    }
    // Random positive finite doubles, all exponents.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while values.len() < 1_300_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let value = f64::from_bits(state & 0x7fff_ffff_ffff_ffff);
        if value.is_finite() {
            values.push(value);
        }
    }
    values
}

#[test]
fn prints_numbers_exactly_as_nlohmann_and_fmt() {
    let oracle = oracle();
    let values = values();
    let mut child = Command::new(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = values
        .iter()
        .map(|v| format!("{:016x}\n", v.to_bits()))
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = 0;
    for (value, line) in values.iter().zip(text.lines()) {
        let (json, fmt) = line.split_once('\t').unwrap();
        assert_eq!(
            number::nlohmann(*value),
            json,
            "nlohmann text of {value:e} ({:#x})",
            value.to_bits()
        );
        assert_eq!(
            number::fmt(*value),
            fmt,
            "{{fmt}} text of {value:e} ({:#x})",
            value.to_bits()
        );
        lines += 1;
    }
    assert_eq!(lines, values.len());
}
