//! Inputs a CI job provides besides the collection: `--var-file` (variables, as data) and
//! `--env-file` (dotenv files that `env("NAME")` reads), and the lookup `env(...)` goes
//! through. Nothing here changes the process environment.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, SourceFile};
use crate::error::{Error, Result};
use crate::model::yaml::{self, Text};
use crate::template::EnvLookup;

fn read(path: &Path, what: &'static str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
        what,
    })
}

fn is_dotenv(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name == ".env" || name.ends_with(".env") || name.starts_with(".env.")
}

/// A `--var-file`: a YAML mapping of names to scalars, or a dotenv file (`.env`, `*.env`).
pub fn load_var_file(path: &Path) -> Result<Vec<(String, String)>> {
    let text = read(path, "variables file")?;
    if is_dotenv(path) {
        return parse_dotenv(path, &text);
    }
    let file = SourceFile::credentials(path, text);
    let map: IndexMap<String, Text> = yaml::parse(&file, "variables file")?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// The variables of every `--env-file`, later files winning.
pub fn load_env_files(paths: &[impl AsRef<Path>]) -> Result<HashMap<String, String>> {
    let mut all = HashMap::new();
    for path in paths {
        let path = path.as_ref();
        let text = read(path, "env file")?;
        all.extend(parse_dotenv(path, &text)?);
    }
    Ok(all)
}

fn parse_dotenv(path: &Path, text: &str) -> Result<Vec<(String, String)>> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| {
            item.map_err(|e| {
                let file = SourceFile::credentials(path, text);
                // dotenvy's message quotes the whole line, value and all: say it in our words
                // and let the masked snippet show where.
                let mut diagnostic =
                    Diagnostic::new(format!("invalid dotenv file `{}`", path.display()))
                        .help("write one `NAME=value` per line; quote values with spaces");
                match &e {
                    dotenvy::Error::LineParse(line, index) => {
                        if let Some(at) = text.find(line.as_str()) {
                            let at = at + (*index).min(line.len());
                            diagnostic = diagnostic
                                .at(crate::diag::Spot::new(&file, at..at + 1))
                                .label("cannot read this line as `NAME=value`");
                        }
                    }
                    _ => diagnostic = diagnostic.note("the file could not be read as dotenv"),
                }
                Error::from(diagnostic)
            })
        })
        .collect()
}

/// `env("NAME")` reads the OS environment first, then the `--env-file` values: as with dotenv
/// tools, a variable already set in the environment is not overridden by a file.
pub fn lookup(files: HashMap<String, String>) -> EnvLookup {
    Arc::new(move |name| {
        std::env::var(name)
            .ok()
            .or_else(|| files.get(name).cloned())
    })
}

/// A lookup for `courier check`: an unset variable is recorded and stands in as a placeholder,
/// so a CI job can lint a collection without its secrets.
pub struct Needs {
    missing: Arc<Mutex<BTreeSet<String>>>,
}

impl Needs {
    pub fn wrap(inner: EnvLookup) -> (EnvLookup, Needs) {
        let missing = Arc::new(Mutex::new(BTreeSet::new()));
        let recorded = Arc::clone(&missing);
        let lookup: EnvLookup = Arc::new(move |name| {
            inner(name).or_else(|| {
                if let Ok(mut set) = recorded.lock() {
                    set.insert(name.to_string());
                }
                Some(format!("needs-{name}"))
            })
        });
        (lookup, Needs { missing })
    }

    pub fn names(&self) -> Vec<String> {
        self.missing
            .lock()
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_files_in_yaml_and_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("vars.yaml");
        std::fs::write(&yaml, "a: 1\nb: text\n").unwrap();
        assert_eq!(
            load_var_file(&yaml).unwrap(),
            [("a".into(), "1".into()), ("b".into(), "text".into())]
        );
        let dotenv = dir.path().join("ci.env");
        std::fs::write(&dotenv, "# comment\nA=1\nB=\"two words\"\n").unwrap();
        assert_eq!(
            load_var_file(&dotenv).unwrap(),
            [("A".into(), "1".into()), ("B".into(), "two words".into())]
        );
    }

    #[test]
    fn a_bad_dotenv_line_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "A=1\nB C\n").unwrap();
        let e = load_env_files(&[&path]).unwrap_err();
        assert!(e.to_string().contains("invalid dotenv file"), "{e}");
    }

    #[test]
    fn os_environment_wins_over_env_files() {
        let files = HashMap::from([
            ("PATH".to_string(), "from-file".to_string()),
            ("COURIER_TEST_ONLY_IN_FILE".to_string(), "x".to_string()),
        ]);
        let lookup = lookup(files);
        assert_ne!(lookup("PATH").as_deref(), Some("from-file"));
        assert_eq!(lookup("COURIER_TEST_ONLY_IN_FILE").as_deref(), Some("x"));
    }

    #[test]
    fn needs_records_unset_variables() {
        let (lookup, needs) = Needs::wrap(Arc::new(|_| None));
        assert_eq!(lookup("ZOOM_X").as_deref(), Some("needs-ZOOM_X"));
        assert_eq!(needs.names(), ["ZOOM_X"]);
    }
}
