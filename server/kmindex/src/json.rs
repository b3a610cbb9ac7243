//! JSON written the way kmindex's nlohmann::json writes it: objects with their keys sorted
//! byte-wise (a `std::map`), `dump(4)` indentation, nlohmann's escaping and float text.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::number;

/// A JSON value as nlohmann::json holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    /// An empty object.
    pub fn object() -> Json {
        Json::Object(BTreeMap::new())
    }

    /// `j[key]`: as nlohmann's `operator[]`, turns null into an object and creates the member.
    ///
    /// # Panics
    /// If `self` is neither null nor an object: callers build these documents themselves.
    pub fn entry(&mut self, key: &str) -> &mut Json {
        if *self == Json::Null {
            *self = Json::object();
        }
        match self {
            Json::Object(map) => map.entry(key.to_owned()).or_insert(Json::Null),
            other => panic!("entry({key}) on a non-object: {other:?}"),
        }
    }

    /// `dump(4)`: the pretty form kmindex writes to files and answers with.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(4), 0);
        out
    }

    /// `dump()`: the compact form kmindex-server uses for error bodies.
    pub fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>, level: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::UInt(n) => write!(out, "{n}").expect("write to String"),
            Json::Int(n) => write!(out, "{n}").expect("write to String"),
            Json::Float(x) => out.push_str(&number::nlohmann(*x)),
            Json::Str(s) => write_string(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(members) if members.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    separator(out, indent, level + 1, i > 0);
                    item.write(out, indent, level + 1);
                }
                close(out, indent, level, ']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    separator(out, indent, level + 1, i > 0);
                    write_string(out, key);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    value.write(out, indent, level + 1);
                }
                close(out, indent, level, '}');
            }
        }
    }
}

fn separator(out: &mut String, indent: Option<usize>, level: usize, comma: bool) {
    if comma {
        out.push(',');
    }
    if let Some(width) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * level));
    }
}

fn close(out: &mut String, indent: Option<usize>, level: usize, bracket: char) {
    if let Some(width) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * level));
    }
    out.push(bracket);
}

/// nlohmann's escaping without `ensure_ascii`: the two-letter escapes, `\u00XX` for the other
/// control characters, everything else (UTF-8 included) as is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).expect("write"),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl From<serde_json::Value> for Json {
    /// As nlohmann parses: non-negative integers unsigned, negative ones signed, anything with
    /// a fraction or exponent a double; duplicate keys keep the last value.
    fn from(value: serde_json::Value) -> Json {
        use serde_json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Json::UInt(u)
                } else if let Some(i) = n.as_i64() {
                    Json::Int(i)
                } else {
                    Json::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Json::Str(s),
            Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            Value::Object(members) => Json::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k, Json::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<f64> for Json {
    fn from(x: f64) -> Json {
        Json::Float(x)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::UInt(n.into())
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_prints_like_dump_4() {
        let mut doc = Json::object();
        *doc.entry("pa").entry("q").entry("D1") = Json::Float(1.0);
        *doc.entry("pa").entry("q").entry("D0") = Json::Array(vec![0u32.into(), 1u32.into()]);
        *doc.entry("pa").entry("empty") = Json::object();
        *doc.entry("a") = Json::Array(vec![]);
        assert_eq!(
            doc.pretty(),
            "{\n    \"a\": [],\n    \"pa\": {\n        \"empty\": {},\n        \"q\": {\n            \"D0\": [\n                0,\n                1\n            ],\n            \"D1\": 1.0\n        }\n    }\n}"
        );
        assert_eq!(
            doc.compact(),
            r#"{"a":[],"pa":{"empty":{},"q":{"D0":[0,1],"D1":1.0}}}"#
        );
    }

    #[test]
    fn escapes_like_nlohmann() {
        let s = Json::Str("a\"b\\c\u{1}\u{7f}é\t/".into());
        assert_eq!(s.compact(), "\"a\\\"b\\\\c\\u0001\u{7f}é\\t/\"");
    }

    #[test]
    fn keys_sort_bytewise() {
        let mut doc = Json::object();
        for k in ["b", "a", "B", "10", "9", "é"] {
            *doc.entry(k) = Json::Null;
        }
        assert_eq!(
            doc.compact(),
            r#"{"10":null,"9":null,"B":null,"a":null,"b":null,"é":null}"#
        );
    }
}
