//! Provider options: the schema a provider publishes (the browser renders one widget per entry)
//! and the checking of the values a user sets against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One option of a provider, e.g. kmindex's `z` or `coverage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptionSpec {
    /// Key under which the value is sent.
    pub name: String,
    /// One line shown beside the widget.
    #[serde(default)]
    pub help: String,
    /// What values are allowed, and the default.
    #[serde(flatten)]
    pub kind: OptionKind,
    /// The value this instance starts with, when its configuration sets one (else the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<OptionValue>,
    /// Not shown to users: the value is fixed by the instance.
    #[serde(default)]
    pub hidden: bool,
    /// Requests must set it (unless the instance sets its value).
    #[serde(default)]
    pub required: bool,
}

/// The shape of an option's values; each maps to one widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OptionKind {
    /// A number in `[min, max]` on a grid of `step` from `min`, typed in a box.
    Numeric {
        min: f64,
        max: f64,
        step: f64,
        default: f64,
    },
    /// A number in `[min, max]` on a grid of `step` from `min` (a slider).
    Range {
        min: f64,
        max: f64,
        step: f64,
        default: f64,
    },
    /// One of `choices`.
    Choice {
        choices: Vec<String>,
        default: String,
    },
    /// Any subset of `choices`.
    MultiChoice {
        choices: Vec<String>,
        default: Vec<String>,
    },
    /// Free text.
    Text {
        #[serde(default)]
        placeholder: String,
        default: String,
    },
    /// On or off.
    Toggle { default: bool },
}

/// A value set for an option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum OptionValue {
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Number(n) => write!(f, "{n}"),
            OptionValue::Text(t) => write!(f, "{t}"),
            OptionValue::List(items) => write!(f, "[{}]", items.join(", ")),
        }
    }
}

/// Values by option name.
pub type OptionValues = BTreeMap<String, OptionValue>;

/// `values` in one line, as results state what they ran with: `coverage = 0.1, z = 3`.
pub fn summary(values: &OptionValues) -> String {
    let set: Vec<String> = values
        .iter()
        .map(|(name, v)| format!("{name} = {v}"))
        .collect();
    set.join(", ")
}

/// Why a set of option values was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionError {
    #[error("unknown option '{name}'; known options: {known}")]
    Unknown { name: String, known: String },
    #[error("option '{name}' expects {expected}")]
    WrongType {
        name: String,
        expected: &'static str,
    },
    #[error("option '{name}' is {value}, outside [{min}, {max}]")]
    OutOfRange {
        name: String,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("option '{name}' is {value}, not a multiple of {step} from {min}")]
    OffStep {
        name: String,
        value: f64,
        step: f64,
        min: f64,
    },
    #[error("option '{name}' is required")]
    Missing { name: String },
    #[error("option '{name}' names '{value}' twice")]
    Repeated { name: String, value: String },
    #[error("option '{name}' is '{value}'; choose one of {choices:?}")]
    NotAChoice {
        name: String,
        value: String,
        choices: Vec<String>,
    },
}

impl OptionSpec {
    /// A spec of `kind`, shown, not required, starting at its default.
    pub fn new(name: &str, help: &str, kind: OptionKind) -> OptionSpec {
        OptionSpec {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            value: None,
            hidden: false,
            required: false,
        }
    }

    /// The value used when a request does not set this option: the instance's, else the
    /// default.
    pub fn initial_value(&self) -> OptionValue {
        self.value.clone().unwrap_or_else(|| self.default_value())
    }

    /// The default value of this option.
    pub fn default_value(&self) -> OptionValue {
        match &self.kind {
            OptionKind::Numeric { default, .. } | OptionKind::Range { default, .. } => {
                OptionValue::Number(*default)
            }
            OptionKind::Choice { default, .. } | OptionKind::Text { default, .. } => {
                OptionValue::Text(default.clone())
            }
            OptionKind::MultiChoice { default, .. } => OptionValue::List(default.clone()),
            OptionKind::Toggle { default } => OptionValue::Bool(*default),
        }
    }

    /// Reads a value of this option from form fields (`texts`: one per field of its name):
    /// numbers parsed, lists from several fields or comma-separated, `true`/`false`.
    pub fn parse_text(&self, texts: &[String]) -> Result<OptionValue, OptionError> {
        let wrong = |expected| OptionError::WrongType {
            name: self.name.clone(),
            expected,
        };
        let single = || match texts {
            [one] => Ok(one.trim()),
            _ => Err(wrong("one value")),
        };
        match &self.kind {
            OptionKind::Numeric { .. } | OptionKind::Range { .. } => single()?
                .parse()
                .map(OptionValue::Number)
                .map_err(|_| wrong("a number")),
            OptionKind::Choice { .. } | OptionKind::Text { .. } => {
                Ok(OptionValue::Text(single()?.to_owned()))
            }
            OptionKind::MultiChoice { .. } => Ok(OptionValue::List(
                texts
                    .iter()
                    .flat_map(|t| t.split(','))
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
            )),
            OptionKind::Toggle { .. } => match single()? {
                "true" | "1" | "on" => Ok(OptionValue::Bool(true)),
                "false" | "0" | "off" => Ok(OptionValue::Bool(false)),
                _ => Err(wrong("true or false")),
            },
        }
    }

    /// Checks `value` against this option's kind.
    pub fn check(&self, value: &OptionValue) -> Result<(), OptionError> {
        let name = || self.name.clone();
        let not_a_choice = |value: &str, choices: &[String]| OptionError::NotAChoice {
            name: name(),
            value: value.to_owned(),
            choices: choices.to_vec(),
        };
        match (&self.kind, value) {
            (
                OptionKind::Numeric { min, max, step, .. }
                | OptionKind::Range { min, max, step, .. },
                OptionValue::Number(v),
            ) => {
                if !(min..=max).contains(&v) {
                    return Err(OptionError::OutOfRange {
                        name: name(),
                        value: *v,
                        min: *min,
                        max: *max,
                    });
                }
                let steps = (v - min) / step;
                if *step > 0.0 && (steps - steps.round()).abs() > 1e-9 {
                    return Err(OptionError::OffStep {
                        name: name(),
                        value: *v,
                        step: *step,
                        min: *min,
                    });
                }
                Ok(())
            }
            (OptionKind::Choice { choices, .. }, OptionValue::Text(v)) => {
                if choices.contains(v) {
                    Ok(())
                } else {
                    Err(not_a_choice(v, choices))
                }
            }
            (OptionKind::MultiChoice { choices, .. }, OptionValue::List(vs)) => {
                if let Some(v) = vs.iter().find(|v| !choices.contains(v)) {
                    return Err(not_a_choice(v, choices));
                }
                // A choice named twice would be answered twice: work for nothing.
                match vs.iter().enumerate().find(|(i, v)| vs[..*i].contains(v)) {
                    Some((_, v)) => Err(OptionError::Repeated {
                        name: name(),
                        value: v.clone(),
                    }),
                    None => Ok(()),
                }
            }
            (OptionKind::Text { .. }, OptionValue::Text(_))
            | (OptionKind::Toggle { .. }, OptionValue::Bool(_)) => Ok(()),
            (kind, _) => Err(OptionError::WrongType {
                name: name(),
                expected: match kind {
                    OptionKind::Numeric { .. } | OptionKind::Range { .. } => "a number",
                    OptionKind::Choice { .. } | OptionKind::Text { .. } => "a string",
                    OptionKind::MultiChoice { .. } => "a list of strings",
                    OptionKind::Toggle { .. } => "true or false",
                },
            }),
        }
    }
}

/// Checks `given` against `specs` and fills in the initial values of options not given.
pub fn resolve(specs: &[OptionSpec], given: &OptionValues) -> Result<OptionValues, OptionError> {
    if let Some(name) = given.keys().find(|n| !specs.iter().any(|s| &&s.name == n)) {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(OptionError::Unknown {
            name: name.clone(),
            known: known.join(", "),
        });
    }
    specs
        .iter()
        .map(|spec| {
            let value = match given.get(&spec.name) {
                Some(value) => value.clone(),
                None if spec.required && spec.value.is_none() => {
                    return Err(OptionError::Missing {
                        name: spec.name.clone(),
                    });
                }
                None => spec.initial_value(),
            };
            spec.check(&value)?;
            Ok((spec.name.clone(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_each_value() {
        let values = OptionValues::from([
            ("z".to_owned(), OptionValue::Number(3.0)),
            ("coverage".to_owned(), OptionValue::Number(0.1)),
            (
                "index".to_owned(),
                OptionValue::List(vec!["pa".into(), "abs".into()]),
            ),
            ("exact".to_owned(), OptionValue::Bool(false)),
            ("format".to_owned(), OptionValue::Text("json".into())),
        ]);
        assert_eq!(
            summary(&values),
            "coverage = 0.1, exact = false, format = json, index = [pa, abs], z = 3"
        );
        assert_eq!(summary(&OptionValues::new()), "");
    }

    fn z() -> OptionSpec {
        OptionSpec::new(
            "z",
            "findere z",
            OptionKind::Range {
                min: 0.0,
                max: 5.0,
                step: 1.0,
                default: 0.0,
            },
        )
    }

    #[test]
    fn fills_defaults_and_checks_ranges_and_steps() {
        let specs = [z()];
        let resolved = resolve(&specs, &OptionValues::new()).unwrap();
        assert_eq!(resolved["z"], OptionValue::Number(0.0));
        let set = |v: f64| OptionValues::from([("z".to_owned(), OptionValue::Number(v))]);
        assert!(resolve(&specs, &set(3.0)).is_ok());
        assert_eq!(
            resolve(&specs, &set(6.0)).unwrap_err().to_string(),
            "option 'z' is 6, outside [0, 5]"
        );
        assert!(matches!(
            resolve(&specs, &set(2.5)),
            Err(OptionError::OffStep { .. })
        ));
        let unknown = OptionValues::from([("k".to_owned(), OptionValue::Number(1.0))]);
        assert_eq!(
            resolve(&specs, &unknown).unwrap_err().to_string(),
            "unknown option 'k'; known options: z"
        );
    }

    #[test]
    fn schema_round_trips_through_json_as_the_browser_sees_it() {
        let json = serde_json::to_string(&z()).unwrap();
        assert_eq!(
            json,
            r#"{"name":"z","help":"findere z","type":"range","min":0.0,"max":5.0,"step":1.0,"default":0.0,"hidden":false,"required":false}"#
        );
        assert_eq!(serde_json::from_str::<OptionSpec>(&json).unwrap(), z());
        let values: OptionValues = serde_json::from_str(r#"{"z": 2, "fmt": "a"}"#).unwrap();
        assert_eq!(values["z"], OptionValue::Number(2.0));
        assert_eq!(values["fmt"], OptionValue::Text("a".into()));
    }

    #[test]
    fn choices_refuse_other_values_and_other_types() {
        let choice = OptionSpec::new(
            "format",
            "",
            OptionKind::Choice {
                choices: vec!["a".into(), "b".into()],
                default: "a".into(),
            },
        );
        assert!(choice.check(&OptionValue::Text("b".into())).is_ok());
        assert!(matches!(
            choice.check(&OptionValue::Text("c".into())),
            Err(OptionError::NotAChoice { .. })
        ));
        assert!(matches!(
            choice.check(&OptionValue::Number(1.0)),
            Err(OptionError::WrongType { .. })
        ));
        let many = OptionSpec::new(
            "index",
            "",
            OptionKind::MultiChoice {
                choices: vec!["pa".into(), "abs".into()],
                default: vec![],
            },
        );
        let list =
            |names: &[&str]| OptionValue::List(names.iter().map(|n| n.to_string()).collect());
        assert!(many.check(&list(&["abs", "pa"])).is_ok());
        assert_eq!(
            many.check(&list(&["pa", "abs", "pa", "pa"]))
                .unwrap_err()
                .to_string(),
            "option 'index' names 'pa' twice"
        );
    }

    #[test]
    fn instance_values_and_required_options() {
        let mut spec = z();
        spec.value = Some(OptionValue::Number(3.0));
        let resolved = resolve(std::slice::from_ref(&spec), &OptionValues::new()).unwrap();
        assert_eq!(resolved["z"], OptionValue::Number(3.0));
        let mut text = OptionSpec::new(
            "label",
            "",
            OptionKind::Text {
                placeholder: String::new(),
                default: String::new(),
            },
        );
        text.required = true;
        assert_eq!(
            resolve(std::slice::from_ref(&text), &OptionValues::new())
                .unwrap_err()
                .to_string(),
            "option 'label' is required"
        );
    }
}
