//! The expected HTTP status: a code, a class such as `2xx`, or a list mixing both.

use std::fmt;

use serde_json::Value;

use super::{SpecError, describe_backticked};

/// Which status codes an `assert: status:` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSpec {
    /// Never empty: an empty list could match nothing, which is never what was meant.
    alternatives: Vec<Status>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Code(u16),
    /// The hundreds digit, 1 to 5.
    Class(u8),
}

const HELP: &str = "a status is a code from 100 to 599, a class from `1xx` to `5xx`, \
                    or a list of them, e.g. `[200, 201]`";

impl StatusSpec {
    pub fn parse(v: &Value) -> Result<StatusSpec, SpecError> {
        let alternatives = match v {
            Value::Array(items) if items.is_empty() => {
                return Err(SpecError::new("empty list of statuses").with_help(HELP));
            }
            Value::Array(items) => items.iter().map(parse_one).collect::<Result<_, _>>()?,
            _ => vec![parse_one(v)?],
        };
        Ok(StatusSpec { alternatives })
    }

    pub fn matches(&self, code: u16) -> bool {
        self.alternatives.iter().any(|s| match *s {
            Status::Code(c) => c == code,
            Status::Class(class) => code / 100 == u16::from(class),
        })
    }
}

fn parse_one(v: &Value) -> Result<Status, SpecError> {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(code @ 100..=599) => Ok(Status::Code(code as u16)),
            _ => Err(SpecError::new(format!("invalid status code `{n}`")).with_help(HELP)),
        },
        // YAML users may quote codes (`"200"`), and classes are always strings.
        Value::String(s) => {
            let bytes = s.as_bytes();
            if s.len() == 3 && bytes.iter().all(u8::is_ascii_digit) {
                let code: u16 = s.parse().expect("three ASCII digits");
                return match code {
                    100..=599 => Ok(Status::Code(code)),
                    _ => Err(SpecError::new(format!("invalid status code `{s}`")).with_help(HELP)),
                };
            }
            if s.len() == 3 && bytes[0].is_ascii_digit() && s[1..].eq_ignore_ascii_case("xx") {
                let class = bytes[0] - b'0';
                return match class {
                    1..=5 => Ok(Status::Class(class)),
                    _ => Err(SpecError::new(format!("invalid status class `{s}`")).with_help(HELP)),
                };
            }
            Err(SpecError::new(format!("invalid status `{s}`")).with_help(HELP))
        }
        _ => Err(SpecError::new(format!(
            "`status` takes a code, a class or a list of them, not {}",
            describe_backticked(v)
        ))
        .with_help(HELP)),
    }
}

impl fmt::Display for StatusSpec {
    /// `200`, `200 or 201`, `200, 201 or 2xx`: reads as the end of "expected status …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.alternatives.len() - 1;
        for (i, s) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(if i == last { " or " } else { ", " })?;
            }
            match s {
                Status::Code(c) => write!(f, "{c}")?,
                Status::Class(c) => write!(f, "{c}xx")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> StatusSpec {
        StatusSpec::parse(&v).expect("valid status spec")
    }

    fn err(v: Value) -> SpecError {
        StatusSpec::parse(&v).expect_err("status spec should be rejected")
    }

    #[test]
    fn single_code() {
        let s = spec(json!(200));
        assert!(s.matches(200));
        assert!(!s.matches(201));
        assert_eq!(s.to_string(), "200");
    }

    #[test]
    fn quoted_code() {
        let s = spec(json!("404"));
        assert!(s.matches(404));
        assert!(!s.matches(400));
    }

    #[test]
    fn list_of_codes() {
        let s = spec(json!([200, 201]));
        assert!(s.matches(200) && s.matches(201));
        assert!(!s.matches(204));
        assert_eq!(s.to_string(), "200 or 201");
        assert_eq!(spec(json!([200, 201, 204])).to_string(), "200, 201 or 204");
    }

    #[test]
    fn class_in_either_case() {
        for text in ["2xx", "2XX", "2xX"] {
            let s = spec(json!(text));
            assert!(s.matches(200) && s.matches(299), "{text}");
            assert!(!s.matches(199) && !s.matches(300), "{text}");
            assert_eq!(s.to_string(), "2xx");
        }
        assert!(spec(json!("5xx")).matches(503));
        assert!(spec(json!("1xx")).matches(101));
    }

    #[test]
    fn list_mixing_codes_and_classes() {
        let s = spec(json!([304, "2xx"]));
        assert!(s.matches(304) && s.matches(204));
        assert!(!s.matches(301));
        assert_eq!(s.to_string(), "304 or 2xx");
    }

    #[test]
    fn codes_out_of_range_are_rejected() {
        let e = err(json!(99));
        assert_eq!(e.message, "invalid status code `99`");
        assert_eq!(e.help.as_deref(), Some(HELP));
        assert_eq!(err(json!(600)).message, "invalid status code `600`");
        assert_eq!(err(json!(-200)).message, "invalid status code `-200`");
        assert_eq!(err(json!(200.5)).message, "invalid status code `200.5`");
        assert_eq!(err(json!("099")).message, "invalid status code `099`");
    }

    #[test]
    fn unknown_class_is_rejected() {
        assert_eq!(err(json!("6xx")).message, "invalid status class `6xx`");
        assert_eq!(err(json!("0xx")).message, "invalid status class `0xx`");
    }

    #[test]
    fn other_text_is_rejected() {
        let e = err(json!("abc"));
        assert_eq!(e.message, "invalid status `abc`");
        assert_eq!(e.help.as_deref(), Some(HELP));
        assert_eq!(err(json!("2x")).message, "invalid status `2x`");
        assert_eq!(err(json!("20x")).message, "invalid status `20x`");
    }

    #[test]
    fn other_shapes_are_rejected() {
        assert_eq!(err(json!([])).message, "empty list of statuses");
        assert_eq!(
            err(json!(true)).message,
            "`status` takes a code, a class or a list of them, not boolean `true`"
        );
        assert!(err(json!(null)).message.ends_with("not `null`"));
        assert!(
            err(json!([200, [201]]))
                .message
                .ends_with("not array `[201]`")
        );
        assert_eq!(err(json!([200, "abc"])).message, "invalid status `abc`");
    }
}
