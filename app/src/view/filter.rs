//! Row filters written like an SQL `WHERE` clause, parsed and evaluated in the browser (nothing
//! is sent to the server): `Temp > 26 AND Biome = 'Trades'`, `Layer IN ('SRF', 'DCM')`,
//! `ID LIKE 'ST1%'`, `Depth BETWEEN 5 AND 50`, `Date IS NOT NULL`, `NOT (a OR b)`.
//!
//! Column names are matched without regard to case, and may be quoted with `"` or `` ` ``; text
//! is quoted with `'` (`''` inside). `LIKE` is case-sensitive (`ILIKE` is not), with `%` and `_`.
//! As in SQL, a comparison with a missing value is unknown, and rows whose filter is unknown are
//! left out. Types are checked against the columns before anything is evaluated.

use crate::model::session::{ColumnKind, Value};

/// Why a filter was refused, with the character where it went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at character {at}: {message}")]
pub struct FilterError {
    /// 1-based position in the filter text.
    pub at: usize,
    pub message: String,
}

/// A parsed, checked filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Expr);

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Op, Operand),
    In(Operand, Vec<Operand>, bool),
    Like(Operand, String, bool, bool),
    Between(Operand, Operand, Operand, bool),
    IsNull(Operand, bool),
    Truth(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Column(usize),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Text(String),
    Number(f64),
    Symbol(&'static str),
}

/// The tokens of `text` with their byte offsets. One loop, one arm per kind of token.
fn tokens(text: &str) -> Result<Vec<(usize, Token)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(FilterError {
                            at,
                            message: format!("{c} is not closed"),
                        });
                    }
                    Some(&d) if d == c && chars.get(i + 1) == Some(&c) => {
                        value.push(c);
                        i += 2;
                    }
                    Some(&d) if d == c => {
                        i += 1;
                        break;
                    }
                    Some(&d) => {
                        value.push(d);
                        i += 1;
                    }
                }
            }
            out.push((
                at,
                if c == '\'' {
                    Token::Text(value)
                } else {
                    Token::Quoted(value)
                },
            ));
        } else if c.is_ascii_digit()
            || (c == '.' || c == '-') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || (matches!(chars[i], '+' | '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let number = word.parse().map_err(|_| FilterError {
                at,
                message: format!("'{word}' is not a number"),
            })?;
            out.push((at, Token::Number(number)));
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push((at, Token::Word(chars[start..i].iter().collect())));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let symbol = ["<=", ">=", "<>", "!=", "=="]
                .into_iter()
                .find(|s| two == *s)
                .or_else(|| {
                    ["=", "<", ">", "(", ")", ","]
                        .into_iter()
                        .find(|s| s.starts_with(c))
                })
                .ok_or_else(|| FilterError {
                    at,
                    message: format!("unexpected '{c}'"),
                })?;
            i += symbol.len();
            out.push((at, Token::Symbol(symbol)));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<(usize, Token)>,
    next: usize,
    end: usize,
    columns: &'a [(String, ColumnKind)],
}

impl Parser<'_> {
    fn at(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |t| t.0)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            at: self.at(),
            message: message.into(),
        })
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.next), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_keyword(keyword);
        if found {
            self.next += 1;
        }
        found
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let found =
            matches!(self.tokens.get(self.next), Some((_, Token::Symbol(s))) if *s == symbol);
        if found {
            self.next += 1;
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), FilterError> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            self.fail(format!("expected '{symbol}'"))
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.keyword("AND") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, FilterError> {
        if self.symbol("(") {
            let inner = self.or()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        let start = self.at();
        let left = self.operand()?;
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            self.expect_symbol("(")?;
            let mut list = vec![self.operand()?];
            while self.symbol(",") {
                list.push(self.operand()?);
            }
            self.expect_symbol(")")?;
            for item in &list {
                self.check_comparable(&left, item, start)?;
            }
            return Ok(Expr::In(left, list, negated));
        }
        for (keyword, insensitive) in [("LIKE", false), ("ILIKE", true)] {
            if self.keyword(keyword) {
                let Some((_, Token::Text(pattern))) = self.tokens.get(self.next).cloned() else {
                    return self.fail(format!("{keyword} needs a quoted pattern, e.g. 'ST1%'"));
                };
                self.next += 1;
                return Ok(Expr::Like(left, pattern, insensitive, negated));
            }
        }
        if self.keyword("BETWEEN") {
            let low = self.operand()?;
            if !self.keyword("AND") {
                return self.fail("expected AND in BETWEEN … AND …");
            }
            let high = self.operand()?;
            self.check_comparable(&left, &low, start)?;
            self.check_comparable(&left, &high, start)?;
            return Ok(Expr::Between(left, low, high, negated));
        }
        if negated {
            return self.fail("expected IN, LIKE or BETWEEN after NOT");
        }
        if self.keyword("IS") {
            let not_null = self.keyword("NOT");
            if !self.keyword("NULL") {
                return self.fail("expected NULL after IS");
            }
            return Ok(Expr::IsNull(left, not_null));
        }
        let op = match self.tokens.get(self.next) {
            Some((_, Token::Symbol("=" | "=="))) => Op::Eq,
            Some((_, Token::Symbol("!=" | "<>"))) => Op::Ne,
            Some((_, Token::Symbol("<"))) => Op::Lt,
            Some((_, Token::Symbol("<="))) => Op::Le,
            Some((_, Token::Symbol(">"))) => Op::Gt,
            Some((_, Token::Symbol(">="))) => Op::Ge,
            _ => {
                // A boolean column alone is a condition.
                if self.kind_of(&left) == Some(ColumnKind::Boolean) {
                    return Ok(Expr::Truth(left));
                }
                return self
                    .fail("expected a comparison (=, !=, <, <=, >, >=), IN, LIKE, BETWEEN or IS");
            }
        };
        self.next += 1;
        let right = self.operand()?;
        self.check_comparable(&left, &right, start)?;
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let Some((at, token)) = self.tokens.get(self.next).cloned() else {
            return self.fail("the filter ends too soon");
        };
        self.next += 1;
        let column = |name: &str| -> Result<Operand, FilterError> {
            self.columns
                .iter()
                .position(|(c, _)| c.eq_ignore_ascii_case(name))
                .map(Operand::Column)
                .ok_or_else(|| FilterError {
                    at,
                    message: format!(
                        "no column '{name}'; the columns are: {}",
                        self.columns
                            .iter()
                            .map(|(c, _)| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
        };
        match token {
            Token::Number(n) => Ok(Operand::Literal(Value::Float(n))),
            Token::Text(t) => Ok(Operand::Literal(Value::Text(t))),
            Token::Quoted(name) => column(&name),
            Token::Word(w) if w.eq_ignore_ascii_case("true") => {
                Ok(Operand::Literal(Value::Boolean(true)))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("false") => {
                Ok(Operand::Literal(Value::Boolean(false)))
            }
            Token::Word(w) if w.eq_ignore_ascii_case("null") => Ok(Operand::Literal(Value::Null)),
            Token::Word(w) => column(&w),
            Token::Symbol(s) => Err(FilterError {
                at,
                message: format!("expected a column or a value, found '{s}'"),
            }),
        }
    }

    fn kind_of(&self, operand: &Operand) -> Option<ColumnKind> {
        match operand {
            Operand::Column(c) => Some(self.columns[*c].1),
            Operand::Literal(Value::Float(_) | Value::Integer(_)) => Some(ColumnKind::Float),
            Operand::Literal(Value::Text(_)) => Some(ColumnKind::Text),
            Operand::Literal(Value::Boolean(_)) => Some(ColumnKind::Boolean),
            Operand::Literal(Value::Null) => None,
        }
    }

    fn check_comparable(&self, a: &Operand, b: &Operand, at: usize) -> Result<(), FilterError> {
        let numeric = |k| matches!(k, ColumnKind::Integer | ColumnKind::Float);
        let describe = |o: &Operand| match o {
            Operand::Column(c) => format!("column '{}'", self.columns[*c].0),
            Operand::Literal(Value::Text(t)) => format!("'{t}'"),
            Operand::Literal(Value::Float(f)) => f.to_string(),
            Operand::Literal(v) => format!("{v:?}").to_lowercase(),
        };
        let what = |k| match k {
            ColumnKind::Integer | ColumnKind::Float => "numbers",
            ColumnKind::Text => "text",
            ColumnKind::Boolean => "true/false",
        };
        match (self.kind_of(a), self.kind_of(b)) {
            (Some(x), Some(y)) if x != y && !(numeric(x) && numeric(y)) => Err(FilterError {
                at,
                message: format!(
                    "{} holds {} but {} is {}",
                    describe(a),
                    what(x),
                    describe(b),
                    what(y)
                ),
            }),
            _ => Ok(()),
        }
    }
}

impl Filter {
    /// Parses `text` against `columns` (name and kind, in row order).
    pub fn parse(text: &str, columns: &[(String, ColumnKind)]) -> Result<Filter, FilterError> {
        let tokens = tokens(text)?;
        let mut parser = Parser {
            tokens,
            next: 0,
            end: text.chars().count() + 1,
            columns,
        };
        if parser.tokens.is_empty() {
            return parser.fail("the filter is empty");
        }
        let expr = parser.or()?;
        if parser.next < parser.tokens.len() {
            return parser.fail("unexpected text after the filter (missing AND or OR?)");
        }
        Ok(Filter(expr))
    }

    /// Whether `row` passes (unknown counts as not passing).
    pub fn matches(&self, row: &[Value]) -> bool {
        eval(&self.0, row) == Some(true)
    }
}

fn value<'a>(operand: &'a Operand, row: &'a [Value]) -> &'a Value {
    match operand {
        Operand::Column(c) => &row[*c],
        Operand::Literal(v) => v,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// SQL comparison: unknown (`None`) when either side is missing.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        (Value::Boolean(x), Value::Boolean(y)) => Some(x.cmp(y)),
        _ => number(a)?.partial_cmp(&number(b)?),
    }
}

fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // matches[j]: pattern[..j] matches the text read so far.
    let mut matches = vec![false; p.len() + 1];
    matches[0] = true;
    for j in 1..=p.len() {
        matches[j] = matches[j - 1] && p[j - 1] == '%';
    }
    for &c in &t {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                '%' => next[j - 1] || matches[j],
                '_' => matches[j - 1],
                literal => matches[j - 1] && literal == c,
            };
        }
        matches = next;
    }
    matches[p.len()]
}

fn eval(expr: &Expr, row: &[Value]) -> Option<bool> {
    use std::cmp::Ordering::*;
    match expr {
        Expr::And(a, b) => match (eval(a, row), eval(b, row)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Or(a, b) => match (eval(a, row), eval(b, row)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Expr::Not(a) => eval(a, row).map(|v| !v),
        Expr::Compare(a, op, b) => {
            let order = compare(value(a, row), value(b, row))?;
            Some(match op {
                Op::Eq => order == Equal,
                Op::Ne => order != Equal,
                Op::Lt => order == Less,
                Op::Le => order != Greater,
                Op::Gt => order == Greater,
                Op::Ge => order != Less,
            })
        }
        Expr::In(a, list, negated) => {
            let v = value(a, row);
            let mut unknown = matches!(v, Value::Null);
            let mut found = false;
            for item in list {
                match compare(v, value(item, row)) {
                    Some(Equal) => found = true,
                    Some(_) => {}
                    None => unknown = true,
                }
            }
            if found {
                Some(!negated)
            } else if unknown {
                None
            } else {
                Some(*negated)
            }
        }
        Expr::Like(a, pattern, insensitive, negated) => {
            let text = match value(a, row) {
                Value::Null => return None,
                Value::Text(t) => t.clone(),
                other => number(other).map_or_else(String::new, |n| n.to_string()),
            };
            let hit = if *insensitive {
                like(&text.to_lowercase(), &pattern.to_lowercase())
            } else {
                like(&text, pattern)
            };
            Some(hit != *negated)
        }
        Expr::Between(a, low, high, negated) => {
            let v = value(a, row);
            let above = compare(v, value(low, row))? != Less;
            let below = compare(v, value(high, row))? != Greater;
            Some((above && below) != *negated)
        }
        Expr::IsNull(a, not_null) => Some(matches!(value(a, row), Value::Null) != *not_null),
        Expr::Truth(a) => match value(a, row) {
            Value::Boolean(b) => Some(*b),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<(String, ColumnKind)> {
        [
            ("ID", ColumnKind::Text),
            ("Temp", ColumnKind::Float),
            ("Depth", ColumnKind::Integer),
            ("Biome", ColumnKind::Text),
            ("Filtered", ColumnKind::Boolean),
        ]
        .map(|(n, k)| (n.to_owned(), k))
        .to_vec()
    }

    fn rows() -> Vec<Vec<Value>> {
        let row = |id: &str, temp: Option<f64>, depth: i64, biome: &str, filtered: bool| {
            vec![
                Value::Text(id.into()),
                temp.map_or(Value::Null, Value::Float),
                Value::Integer(depth),
                Value::Text(biome.into()),
                Value::Boolean(filtered),
            ]
        };
        vec![
            row("ST001_SRF", Some(28.5), 5, "Trades", true),
            row("ST002_DCM", Some(12.0), 80, "Westerlies", false),
            row("ST103_MES", None, 600, "Polar", true),
            row("ST104_SRF", Some(26.0), 5, "Coastal", false),
        ]
    }

    fn ids(filter: &str) -> Vec<String> {
        let f = Filter::parse(filter, &columns()).unwrap_or_else(|e| panic!("{filter}: {e}"));
        rows()
            .into_iter()
            .filter(|r| f.matches(r))
            .map(|r| match &r[0] {
                Value::Text(t) => t.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn the_where_forms() {
        assert_eq!(ids("Temp > 26 AND biome = 'Trades'"), ["ST001_SRF"]);
        assert_eq!(
            ids("temp >= 26 or Depth > 500"),
            ["ST001_SRF", "ST103_MES", "ST104_SRF"]
        );
        assert_eq!(
            ids("Biome IN ('Polar', 'Coastal')"),
            ["ST103_MES", "ST104_SRF"]
        );
        assert_eq!(
            ids("Biome NOT IN ('Polar', 'Coastal')"),
            ["ST001_SRF", "ST002_DCM"]
        );
        assert_eq!(ids("ID LIKE 'ST1%'"), ["ST103_MES", "ST104_SRF"]);
        assert_eq!(ids("ID LIKE '%_srf'"), Vec::<String>::new());
        assert_eq!(ids("ID ILIKE '%_srf'"), ["ST001_SRF", "ST104_SRF"]);
        assert_eq!(
            ids("Depth BETWEEN 5 AND 80"),
            ["ST001_SRF", "ST002_DCM", "ST104_SRF"]
        );
        assert_eq!(ids("Depth NOT BETWEEN 5 AND 80"), ["ST103_MES"]);
        assert_eq!(ids("Temp IS NULL"), ["ST103_MES"]);
        assert_eq!(
            ids("Temp IS NOT NULL AND NOT Filtered"),
            ["ST002_DCM", "ST104_SRF"]
        );
        assert_eq!(
            ids("(Depth = 5 OR Depth = 600) AND \"Filtered\" = true"),
            ["ST001_SRF", "ST103_MES"]
        );
        assert_eq!(
            ids("Biome = 'O''Hara' OR Depth <> 5"),
            ["ST002_DCM", "ST103_MES"]
        );
    }

    #[test]
    fn missing_values_are_unknown_as_in_sql() {
        // The row without a temperature passes neither a test nor its negation.
        assert_eq!(ids("Temp < 20"), ["ST002_DCM"]);
        assert_eq!(ids("NOT (Temp < 20)"), ["ST001_SRF", "ST104_SRF"]);
        assert_eq!(ids("Temp < 20 OR Depth > 500"), ["ST002_DCM", "ST103_MES"]);
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let error = |f: &str| Filter::parse(f, &columns()).unwrap_err().to_string();
        assert_eq!(
            error("Tmp > 3"),
            "at character 1: no column 'Tmp'; the columns are: ID, Temp, Depth, Biome, Filtered"
        );
        assert_eq!(
            error("Temp > 'warm'"),
            "at character 1: column 'Temp' holds numbers but 'warm' is text"
        );
        assert_eq!(error("Temp >"), "at character 7: the filter ends too soon");
        assert_eq!(error("Biome = 'Polar"), "at character 9: ' is not closed");
        assert_eq!(
            error("Temp > 3 Depth < 4"),
            "at character 10: unexpected text after the filter (missing AND or OR?)"
        );
        assert_eq!(error("(Temp > 3"), "at character 10: expected ')'");
        assert_eq!(error("Temp ~ 3"), "at character 6: unexpected '~'");
        assert_eq!(
            error("Biome"),
            "at character 6: expected a comparison (=, !=, <, <=, >, >=), IN, LIKE, BETWEEN or IS"
        );
        assert_eq!(error(""), "at character 1: the filter is empty");
    }
}
