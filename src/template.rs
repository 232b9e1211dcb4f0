//! Templates: the minijinja environment every string of a request is rendered with.
//!
//! It owns the filters and functions courier adds (`base64`, `b64decode`, `env()`, `uuid()`,
//! `now()`, `timestamp()`), strict undefined handling, and the mapping of minijinja's errors back
//! onto the user's file. Which variables exist, and in what order of precedence, is the runner's
//! business: templates only see the context they are given.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};

use crate::diag::{Diagnostic, Spot};
use crate::model::Tmpl;

/// Reads a variable of the OS environment; a function so tests and `--env-file` can supply their
/// own values without touching the process environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Which OS variables `env(...)` may read in the templates of collection and request files.
/// Collections are shared and imported; environments are the user's own. Without this, a
/// request file could send the CI runner's `AWS_SECRET_ACCESS_KEY` anywhere.
#[derive(Debug, Clone, Default)]
pub struct EnvGrants {
    /// Names, or prefixes written `PREFIX*`.
    granted: Vec<String>,
}

/// The prefix every collection may read, as Hurl lets its files read `HURL_*`.
pub const FREE_PREFIX: &str = "COURIER_";

/// How a refused `env(...)` read starts, so the error can be told from a render error.
const NOT_GRANTED: &str = "the OS variable ";

impl EnvGrants {
    pub fn new(granted: impl IntoIterator<Item = String>) -> EnvGrants {
        EnvGrants {
            granted: granted.into_iter().collect(),
        }
    }

    pub fn allows(&self, name: &str) -> bool {
        name.starts_with(FREE_PREFIX)
            || self.granted.iter().any(|g| match g.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => g == name,
            })
    }
}

#[derive(Clone)]
pub struct Engine {
    env: Environment<'static>,
    /// What each compiled template reads, worked out once: the runner asks before every request.
    info: HashMap<String, Info>,
    /// Renders of templates that call no function, by template and the values of what they read:
    /// most templates of a long run (`{{ base_url }}/oauth/token`, the client id) render the same
    /// text every time.
    memo: RefCell<HashMap<String, String>>,
}

#[derive(Clone)]
struct Info {
    vars: BTreeSet<String>,
    /// Calls no function (`uuid()`, `now()`, `env()`): the same variables give the same text.
    pure: bool,
}

/// `random_int()`: a whole number from 0 to 1000, as Postman's `{{$randomInt}}`;
/// `random_int(min, max)` from `min` to `max`, both included.
fn random_int(min: Option<i64>, max: Option<i64>) -> Result<i64, minijinja::Error> {
    let (min, max) = (min.unwrap_or(0), max.unwrap_or(1000));
    if min > max {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("random_int({min}, {max}): the first bound is above the second"),
        ));
    }
    Ok(fastrand::i64(min..=max))
}

/// A run with many data rows could fill the memo without end; past this it starts over.
const MEMO_LIMIT: usize = 4096;

impl Engine {
    /// An engine whose `env(...)` reads any OS variable: for environment files.
    pub fn new(lookup: EnvLookup) -> Engine {
        Engine::build(lookup, None)
    }

    /// An engine whose `env(...)` reads only what `grants` allows: for collection and request
    /// files. A refused read is an error naming the variable and how to grant it.
    pub fn granted(lookup: EnvLookup, grants: EnvGrants) -> Engine {
        Engine::build(lookup, Some(grants))
    }

    fn build(lookup: EnvLookup, grants: Option<EnvGrants>) -> Engine {
        let mut env = Environment::new();
        // Requests are not HTML: a `&` in a form value must stay a `&`.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        // A raw body's final newline is part of the body.
        syntax.keep_trailing_newline(true);
        if let Ok(syntax) = syntax.build() {
            env.set_syntax(syntax);
        }
        env.add_filter("base64", base64_encode);
        env.add_filter("b64encode", base64_encode);
        env.add_filter("b64decode", base64_decode);
        env.add_function("env", move |name: String, default: Option<String>| {
            if let Some(grants) = &grants
                && !grants.allows(&name)
            {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{NOT_GRANTED}`{name}` is not granted to the collection"),
                ));
            }
            lookup(&name).or(default).ok_or_else(|| {
                minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("environment variable `{name}` is not set"),
                )
            })
        });
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function("now", || {
            humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
        });
        env.add_function("timestamp", || unix_time().as_secs());
        env.add_function("timestamp_ms", || unix_time().as_millis() as u64);
        env.add_function("random_int", random_int);
        Engine {
            env,
            info: HashMap::new(),
            memo: RefCell::new(HashMap::new()),
        }
    }

    /// Parses a template once and keeps it for every later render.
    pub fn compile(&mut self, t: &Tmpl) -> Result<(), Diagnostic> {
        if t.is_literal() || self.info.contains_key(&t.text) {
            return Ok(());
        }
        self.env
            .add_template_owned(t.text.clone(), t.text.clone())
            .map_err(|e| to_diagnostic(t, &e, None))?;
        let info = self.examine(t)?;
        self.info.insert(t.text.clone(), info);
        Ok(())
    }

    fn examine(&self, t: &Tmpl) -> Result<Info, Diagnostic> {
        let template = self.template(t)?;
        let mut vars = BTreeSet::new();
        let mut pure = true;
        for name in template.undeclared_variables(false) {
            if self.env.globals().any(|(global, _)| global == name) {
                pure = false;
            } else {
                vars.insert(name);
            }
        }
        Ok(Info { vars, pure })
    }

    /// The variables a template reads, without courier's own functions and filters.
    pub fn variables_used(&self, t: &Tmpl) -> Result<BTreeSet<String>, Diagnostic> {
        if t.is_literal() {
            return Ok(BTreeSet::new());
        }
        match self.info.get(&t.text) {
            Some(info) => Ok(info.vars.clone()),
            None => Ok(self.examine(t)?.vars),
        }
    }

    /// True when the template gives the same text whenever its variables have the same values:
    /// it calls no function (`uuid()`, `now()`, `env()`). Unknown templates count as impure.
    pub fn is_pure(&self, t: &Tmpl) -> bool {
        t.is_literal() || self.info.get(&t.text).is_some_and(|info| info.pure)
    }

    pub fn render(&self, t: &Tmpl, context: &Value) -> Result<String, Diagnostic> {
        if t.is_literal() {
            return Ok(t.text.clone());
        }
        // An undefined variable is an error, never a memo hit.
        let key = self
            .info
            .get(&t.text)
            .filter(|info| info.pure)
            .and_then(|info| {
                use std::fmt::Write as _;
                let mut key = t.text.clone();
                for name in &info.vars {
                    let value = context.get_attr(name).ok().filter(|v| !v.is_undefined())?;
                    let _ = write!(key, "\u{0}{value}");
                }
                Some(key)
            });
        if let Some(key) = &key
            && let Some(text) = self.memo.borrow().get(key)
        {
            return Ok(text.clone());
        }
        let text = self.render_uncached(t, context)?;
        if let Some(key) = key {
            let mut memo = self.memo.borrow_mut();
            if memo.len() >= MEMO_LIMIT {
                memo.clear();
            }
            memo.insert(key, text.clone());
        }
        Ok(text)
    }

    fn render_uncached(&self, t: &Tmpl, context: &Value) -> Result<String, Diagnostic> {
        let template = self.template(t)?;
        template.render(context).map_err(|e| {
            let missing = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|name| {
                    self.env.globals().all(|(g, _)| g != name)
                        && context.get_attr(name).is_ok_and(|v| v.is_undefined())
                })
                .min();
            to_diagnostic(t, &e, missing)
        })
    }

    fn template<'s>(&'s self, t: &'s Tmpl) -> Result<minijinja::Template<'s, 's>, Diagnostic> {
        match self.env.get_template(&t.text) {
            Ok(template) => Ok(template),
            Err(_) => self
                .env
                .template_from_str(&t.text)
                .map_err(|e| to_diagnostic(t, &e, None)),
        }
    }
}

fn unix_time() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn base64_encode(value: String) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

fn base64_decode(value: String) -> Result<String, minijinja::Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| {
            minijinja::Error::new(ErrorKind::InvalidOperation, format!("not base64: {e}"))
        })?;
    String::from_utf8(bytes).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "the decoded base64 is not UTF-8 text",
        )
    })
}

/// Points a minijinja error at the right characters of the user's file.
fn to_diagnostic(t: &Tmpl, e: &minijinja::Error, missing: Option<String>) -> Diagnostic {
    let spot = locate(t, e.range());
    if let Some(name) = missing {
        return Diagnostic::new(format!("undefined variable `{name}`"))
            .at(spot.narrow_to(&name))
            .label("used here");
    }
    let detail = e.detail().unwrap_or("").to_string();
    match e.kind() {
        ErrorKind::SyntaxError => Diagnostic::new(format!("invalid template: {detail}"))
            .at(spot)
            .label("template syntax error")
            .help("templates use minijinja syntax: `{{ variable }}`, `{{ value | filter }}`, `{{ function() }}`"),
        ErrorKind::UndefinedError => Diagnostic::new("undefined value in template")
            .at(spot)
            .label(if detail.is_empty() { "undefined".to_string() } else { detail }),
        ErrorKind::UnknownFunction | ErrorKind::UnknownFilter => {
            Diagnostic::new(format!("{}: {detail}", e.kind()))
                .at(spot)
                .help("available: filters `base64`, `b64decode`, `urlencode` and minijinja's built-ins; functions `env`, `uuid`, `now`, `timestamp`, `timestamp_ms`, `random_int`")
        }
        _ if detail.starts_with(NOT_GRANTED) => {
            let name = detail.split('`').nth(1).unwrap_or_default().to_string();
            Diagnostic::new(detail.clone())
                .at(spot.narrow_to(&name))
                .label("read here")
                .note(format!(
                    "collection and request files are shared and imported: their `env(...)` reads only `{FREE_PREFIX}*` and the names you grant (environment files read any)"
                ))
                .help(format!(
                    "grant it with `--allow-env {name}`, or `allow_env: [{name}]` in the environment file"
                ))
        }
        _ if detail.starts_with("environment variable `") => {
            let name = detail.split('`').nth(1).unwrap_or_default().to_string();
            Diagnostic::new(detail.clone())
                .at(spot.narrow_to(&name))
                .label("read here")
                .help(format!(
                    "export {name} before running courier, or give a default: env(\"{name}\", \"…\")"
                ))
        }
        _ => Diagnostic::new(format!("cannot render template: {}", if detail.is_empty() { e.kind().to_string() } else { detail }))
            .at(spot),
    }
}

fn locate(t: &Tmpl, range: Option<std::ops::Range<usize>>) -> Spot {
    let whole = t.spot.narrow_to(&t.text);
    match range {
        Some(r) if whole.text() == t.text && r.end <= t.text.len() => Spot::new(
            &whole.file,
            whole.span.start + r.start..whole.span.start + r.end,
        ),
        _ => t.spot.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;

    fn tmpl(text: &str) -> Tmpl {
        let file = SourceFile::new("t.yaml", format!("url: \"{text}\"\n"));
        let spot = Spot::new(&file, 5..file.text.len() - 1);
        Tmpl::new(text, spot)
    }

    fn engine() -> Engine {
        Engine::new(Arc::new(|name| {
            (name == "HOME_X").then(|| "/home/x".to_string())
        }))
    }

    fn ctx() -> Value {
        Value::from(minijinja::value::Serde(
            serde_json::json!({"base": "https://zoom.us", "amp": "a&b <c>"}),
        ))
    }

    #[test]
    fn renders_without_html_escaping() {
        assert_eq!(
            engine().render(&tmpl("{{ amp }}"), &ctx()).unwrap(),
            "a&b <c>"
        );
    }

    #[test]
    fn filters_and_functions() {
        let e = engine();
        assert_eq!(
            e.render(&tmpl("{{ 'id:secret' | base64 }}"), &ctx())
                .unwrap(),
            "aWQ6c2VjcmV0"
        );
        assert_eq!(
            e.render(&tmpl("{{ 'aWQ6c2VjcmV0' | b64decode }}"), &ctx())
                .unwrap(),
            "id:secret"
        );
        assert_eq!(
            e.render(&tmpl("{{ 'a b&c' | urlencode }}"), &ctx())
                .unwrap(),
            "a%20b%26c"
        );
        assert_eq!(
            e.render(&tmpl("{{ env('HOME_X') }}"), &ctx()).unwrap(),
            "/home/x"
        );
        assert_eq!(
            e.render(&tmpl("{{ env('NOPE', 'dflt') }}"), &ctx())
                .unwrap(),
            "dflt"
        );
        assert_eq!(e.render(&tmpl("{{ uuid() }}"), &ctx()).unwrap().len(), 36);
        assert!(
            e.render(&tmpl("{{ now() }}"), &ctx())
                .unwrap()
                .ends_with('Z')
        );
        let ts: u64 = e
            .render(&tmpl("{{ timestamp() }}"), &ctx())
            .unwrap()
            .parse()
            .unwrap();
        assert!(ts > 1_700_000_000);
    }

    #[test]
    fn unset_env_names_the_variable() {
        let d = engine()
            .render(&tmpl("{{ env('ZOOM_X') }}"), &ctx())
            .unwrap_err();
        assert_eq!(d.title, "environment variable `ZOOM_X` is not set");
        assert_eq!(d.spot.unwrap().text(), "ZOOM_X");
    }

    #[test]
    fn undefined_variable_is_named_and_located() {
        let d = engine()
            .render(&tmpl("{{ base }}/{{ bsae_url }}"), &ctx())
            .unwrap_err();
        assert_eq!(d.title, "undefined variable `bsae_url`");
        assert_eq!(d.spot.unwrap().position(), "t.yaml:1:21");
    }

    #[test]
    fn variables_used_leaves_out_functions() {
        let e = engine();
        let used = e
            .variables_used(&tmpl(
                "{{ base }}{{ env('X') }}{{ uuid() }}{{ tok | base64 }}",
            ))
            .unwrap();
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["base", "tok"]);
    }

    #[test]
    fn pure_templates_are_memoised_by_their_values_and_functions_are_not() {
        let mut e = engine();
        let (base, id) = (tmpl("{{ base }}/x"), tmpl("{{ uuid() }}"));
        e.compile(&base).unwrap();
        e.compile(&id).unwrap();
        let one = Value::from(minijinja::value::Serde(serde_json::json!({"base": "a"})));
        let two = Value::from(minijinja::value::Serde(serde_json::json!({"base": "b"})));
        assert_eq!(e.render(&base, &one).unwrap(), "a/x");
        assert_eq!(e.render(&base, &two).unwrap(), "b/x");
        assert_eq!(e.render(&base, &one).unwrap(), "a/x");
        assert_ne!(e.render(&id, &one).unwrap(), e.render(&id, &one).unwrap());
    }

    #[test]
    fn syntax_error_is_located() {
        let mut e = engine();
        let d = e.compile(&tmpl("{{ base ")).unwrap_err();
        assert!(d.title.starts_with("invalid template"), "{}", d.title);
    }

    #[test]
    fn values_are_not_rendered_again() {
        let c = Value::from(minijinja::value::Serde(
            serde_json::json!({"v": "{{ secret }}"}),
        ));
        assert_eq!(
            engine().render(&tmpl("{{ v }}"), &c).unwrap(),
            "{{ secret }}"
        );
    }
}
