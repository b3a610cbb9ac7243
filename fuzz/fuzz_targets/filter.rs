//! The table's filter expressions (a WHERE clause), parsed against typed columns and applied to
//! a row of each kind of value.
#![no_main]

use app::model::filter::Filter;
use app::model::session::{ColumnKind, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let columns = [
        ("ID".to_owned(), ColumnKind::Text),
        ("CovXK".to_owned(), ColumnKind::Float),
        ("Depth".to_owned(), ColumnKind::Integer),
        ("Filtered".to_owned(), ColumnKind::Boolean),
    ];
    if let Ok(filter) = Filter::parse(text, &columns) {
        for row in [
            vec![
                Value::Text("D1".into()),
                Value::Float(0.5),
                Value::Integer(-3),
                Value::Boolean(true),
            ],
            vec![Value::Null, Value::Null, Value::Null, Value::Null],
        ] {
            let _ = filter.matches(&row);
        }
    }
});
