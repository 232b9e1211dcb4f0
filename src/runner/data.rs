//! `--data` files: the rows that make one pass each.
//!
//! A CSV file is read the way Newman reads one, so that a Postman user's data files keep their
//! meaning: the first row names the variables; spaces around a cell are dropped, inside quotes
//! they are kept; a quote inside an unquoted cell is text; a short row leaves its missing
//! cells undefined (a collection or environment value of that name shows through); and an
//! unquoted cell that is a number is a number (`7890`, `-1.5`), so a check compares it as one.
//!
//! Where Newman's reading would change the text a request sends, courier keeps the text: an
//! unquoted `007`, `1.50` or `1e3` stays text (Newman makes them 7, 1.5 and 1000), and so does
//! an integer too long to be exact as a number.
//!
//! The `csv` crate cannot tell a quoted cell from an unquoted one, and both rules depend on it,
//! so the reader is [`cells`], below: RFC 4180 quoting plus those two rules.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::diag::{Diagnostic, SourceFile, Spot};
use crate::error::{Error, Result};

/// One row of a `--data` file: its values are variables between the environment and `--var`.
#[derive(Debug, Clone)]
pub struct DataRow {
    /// 1-based, the header row not counted.
    pub number: usize,
    pub values: Arc<IndexMap<String, Value>>,
}

/// Reads a `--data` file: CSV with a header row (see the module's text), or a JSON array of
/// objects (`.json`), whose strings, numbers and booleans keep their type.
pub fn load_data(path: &Path) -> Result<Vec<DataRow>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what: "data file",
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let file = SourceFile::credentials(path, String::from_utf8_lossy(bytes).into_owned());
    let rows = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        json_rows(&file)?
    } else {
        csv_rows(&file)?
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, values)| DataRow {
            number: i + 1,
            values: Arc::new(values),
        })
        .collect())
}

/// The rows the preflight checks: the first one, and the first of each other set of defined
/// columns. A short row lacks only trailing cells, so its length is its set; most files have
/// one.
pub fn samples(rows: &[DataRow]) -> Vec<&DataRow> {
    let mut shapes: Vec<(usize, &DataRow)> = Vec::new();
    for row in rows {
        let len = row.values.len();
        if !shapes.iter().any(|(l, _)| *l == len) {
            shapes.push((len, row));
        }
    }
    shapes.into_iter().map(|(_, row)| row).collect()
}

/// A cell as written: its text, whether it was quoted, and where it is in the file.
#[derive(Debug, PartialEq)]
struct Cell {
    text: String,
    quoted: bool,
    span: Range<usize>,
}

fn csv_rows(file: &Arc<SourceFile>) -> Result<Vec<IndexMap<String, Value>>> {
    let records = cells(&file.text).map_err(|(message, span)| {
        Error::from(
            Diagnostic::new(format!(
                "invalid CSV in `{}`: {message}",
                file.path.display()
            ))
            .at(Spot::new(file, span))
            .help("a quoted cell ends with a quote just before the next comma or line end; write a quote inside it as two (`\"\"`)"),
        )
    })?;
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = header.into_iter().map(|c| c.text).collect();
    records
        .map(|record| {
            if let Some(extra) = record.get(names.len()) {
                return Err(Diagnostic::new(format!(
                    "invalid CSV in `{}`: {} cells, but the first row names {} variables",
                    file.path.display(),
                    record.len(),
                    names.len()
                ))
                .at(Spot::new(file, extra.span.clone()))
                .label("no variable for this cell")
                .help("name every column in the first row, or remove the extra cells")
                .into());
            }
            Ok(names
                .iter()
                .cloned()
                .zip(record.into_iter().map(cell_value))
                .collect())
        })
        .collect()
}

/// An unquoted cell that reads as a number and is written the way the number prints is a
/// number; anything else is text.
fn cell_value(cell: Cell) -> Value {
    if !cell.quoted
        && let Ok(number) = cell.text.parse::<serde_json::Number>()
        && number.to_string() == cell.text
    {
        return Value::Number(number);
    }
    Value::String(cell.text)
}

/// Splits CSV text into rows of cells. Blank lines are skipped; an error is its message and
/// the bytes it is about.
fn cells(text: &str) -> std::result::Result<Vec<Vec<Cell>>, (String, Range<usize>)> {
    let bytes = text.as_bytes();
    let blank = |b: u8| b == b' ' || b == b'\t';
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut at = 0;
    while at < bytes.len() || !row.is_empty() {
        while at < bytes.len() && blank(bytes[at]) {
            at += 1;
        }
        let start = at;
        let (cell, end) = if bytes.get(at) == Some(&b'"') {
            quoted(text, at)?
        } else {
            let end = bytes[at..]
                .iter()
                .position(|&b| matches!(b, b',' | b'\n' | b'\r'))
                .map_or(bytes.len(), |n| at + n);
            let cell = text[at..end].trim_end_matches([' ', '\t']).to_string();
            (cell, end)
        };
        let quoted = bytes.get(start) == Some(&b'"');
        row.push(Cell {
            text: cell,
            quoted,
            span: start..end,
        });
        at = end;
        match bytes.get(at) {
            Some(b',') => at += 1,
            _ => {
                at += match &bytes[at.min(bytes.len())..] {
                    [b'\r', b'\n', ..] => 2,
                    [] => 0,
                    _ => 1,
                };
                let blank_line = row.len() == 1 && !row[0].quoted && row[0].text.is_empty();
                if !blank_line {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
                if at >= bytes.len() {
                    break;
                }
            }
        }
    }
    Ok(rows)
}

/// Reads the quoted cell whose opening quote is at `open`: its text, and where the cell ends
/// (the comma or line end after the closing quote and any spaces).
fn quoted(text: &str, open: usize) -> std::result::Result<(String, usize), (String, Range<usize>)> {
    let bytes = text.as_bytes();
    let mut cell = String::new();
    let mut from = open + 1;
    loop {
        let Some(quote) = bytes[from..].iter().position(|&b| b == b'"') else {
            return Err(("a quote is never closed".into(), open..open + 1));
        };
        cell.push_str(&text[from..from + quote]);
        let after = from + quote + 1;
        if bytes.get(after) == Some(&b'"') {
            cell.push('"');
            from = after + 1;
            continue;
        }
        let end = bytes[after..]
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .map_or(bytes.len(), |n| after + n);
        return match bytes.get(end) {
            None | Some(b',' | b'\n' | b'\r') => Ok((cell, end)),
            Some(_) => Err((
                "text after a closing quote".into(),
                after - 1..(after + 1).min(bytes.len()),
            )),
        };
    }
}

fn json_rows(file: &Arc<SourceFile>) -> Result<Vec<IndexMap<String, Value>>> {
    let not_rows = || {
        Error::from(
            Diagnostic::new(format!(
                "`{}` is not a JSON array of objects",
                file.path.display()
            ))
            .help("write the rows as `[{\"user\": \"a\"}, {\"user\": \"b\"}]`"),
        )
    };
    let value: Value = serde_json::from_str(&file.text).map_err(|e| {
        let offset = file
            .text
            .split_inclusive('\n')
            .take(e.line().saturating_sub(1))
            .map(str::len)
            .sum::<usize>()
            + e.column().saturating_sub(1);
        Error::from(
            Diagnostic::new(format!("invalid JSON in data file: {e}"))
                .at(Spot::new(file, offset..offset + 1)),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(not_rows());
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, json_value(v))).collect()),
            _ => Err(not_rows()),
        })
        .collect()
}

/// Strings, numbers and booleans keep their type; `null`, arrays and objects are their JSON
/// text, which is what a template sends for them.
fn json_value(value: Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => value,
        other => Value::String(super::scope::value_text(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(csv: &str) -> Vec<Vec<(String, bool)>> {
        cells(csv)
            .unwrap()
            .into_iter()
            .map(|row| row.into_iter().map(|c| (c.text, c.quoted)).collect())
            .collect()
    }

    fn load(name: &str, text: &str) -> Result<Vec<DataRow>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        load_data(&path)
    }

    #[test]
    fn csv_quirks() {
        let rows = load(
            "users.csv",
            "\u{feff}user,note,empty\na,\"x, y\nz\",\nb,plain,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values["user"], "a");
        assert_eq!(rows[0].values["note"], "x, y\nz");
        assert_eq!(rows[0].values["empty"], "");
        assert_eq!(rows[1].number, 2);
    }

    #[test]
    fn cells_are_read_as_newman_reads_them() {
        assert_eq!(
            texts(" a , \"b, c\" ,d \"e\" f,\"g \"\"h\"\"\"\r\n\r\n1,2\n"),
            [
                vec![
                    ("a".into(), false),
                    ("b, c".into(), true),
                    ("d \"e\" f".into(), false),
                    ("g \"h\"".into(), true)
                ],
                vec![("1".into(), false), ("2".into(), false)],
            ]
        );
        assert_eq!(
            texts("a,\n"),
            [vec![("a".into(), false), ("".into(), false)]]
        );
        assert_eq!(texts("\" x \""), [vec![(" x ".into(), true)]]);
        assert!(texts("").is_empty());
    }

    #[test]
    fn unquoted_numbers_are_numbers_when_they_print_as_written() {
        let rows = load(
            "n.csv",
            "int,neg,float,quoted,zeros,exp,plus,long,word\n7890,-7890,1.5,\"7890\",007,1e3,+5,89111702272002019559,7a\n",
        )
        .unwrap();
        let values = &rows[0].values;
        assert_eq!(values["int"], json!(7890));
        assert_eq!(values["neg"], json!(-7890));
        assert_eq!(values["float"], json!(1.5));
        for text in ["quoted", "zeros", "exp", "plus", "long", "word"] {
            assert!(values[text].is_string(), "{text}: {}", values[text]);
        }
    }

    #[test]
    fn a_short_row_leaves_its_missing_cells_undefined_and_a_long_one_is_refused() {
        let rows = load("rows.csv", "a,b\n1,2\n3\n").unwrap();
        assert_eq!(rows[1].values["a"], json!(3));
        assert!(!rows[1].values.contains_key("b"));
        assert_eq!(
            samples(&rows).iter().map(|r| r.number).collect::<Vec<_>>(),
            [1, 2]
        );
        let e = load("rows.csv", "a,b\n1,2\n3,4,secret-5\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid CSV") && e.contains("rows.csv:3:5"),
            "{e}"
        );
        assert!(
            !e.contains("secret-5"),
            "a data file's values are not shown: {e}"
        );
    }

    #[test]
    fn a_broken_quote_is_refused_where_it_is() {
        let e = load("q.csv", "a,b\n1,\"open\n").unwrap_err().to_string();
        assert!(
            e.contains("a quote is never closed") && e.contains("q.csv:2:3"),
            "{e}"
        );
        let e = load("q.csv", "a\n\"x\"y\n").unwrap_err().to_string();
        assert!(
            e.contains("text after a closing quote") && e.contains("q.csv:2:3"),
            "{e}"
        );
    }

    proptest::proptest! {
        /// Any table written with every cell quoted reads back cell for cell, whatever the
        /// cells hold (commas, quotes, newlines, spaces), and nothing panics on any input.
        #[test]
        fn quoted_cells_read_back_as_written(
            table in proptest::collection::vec(
                proptest::collection::vec("[ -~\n\r\t\"é]{0,8}", 1..4),
                1..5,
            ),
            junk in "[ -~\n\r\"]{0,40}",
        ) {
            let csv: String = table
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|cell| format!(" \"{}\" ", cell.replace('"', "\"\"")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect::<Vec<_>>()
                .join("\r\n");
            let read: Vec<Vec<String>> = cells(&csv)
                .unwrap()
                .into_iter()
                .map(|row| row.into_iter().map(|c| c.text).collect())
                .collect();
            proptest::prop_assert_eq!(read, table);
            let _ = cells(&junk);
        }
    }

    #[test]
    fn json_rows_keep_their_types() {
        let rows = load(
            "users.json",
            r#"[{"user": "a", "n": 1, "ok": true, "none": null, "list": [1]}, {"user": "b"}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].values["n"], json!(1));
        assert_eq!(rows[0].values["ok"], json!(true));
        assert_eq!(rows[0].values["none"], "null");
        assert_eq!(rows[0].values["list"], "[1]");
        let e = load("users.json", r#"{"user": "a"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a JSON array of objects"), "{e}");
        let e = load("users.json", "[{\"user\": }]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }
}
