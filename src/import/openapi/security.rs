//! Security schemes as courier auth: `http` bearer, basic and digest, `apiKey` in a header or
//! the query, and `oauth2` (client credentials, or a refresh token for the authorization-code
//! flow) onto courier's OAuth2 kind. Each credential is a variable, listed as needed and as a
//! secret.

use serde_json::{Value, json};

use super::{Importer, variable_name};

/// What one security requirement asks of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Credentials {
    /// `auth:` of the request or collection.
    pub auth: Option<Value>,
    /// Headers that carry an API key.
    pub headers: Vec<(String, Value)>,
    /// Query parameters that carry an API key.
    pub query: Vec<(String, Value)>,
}

impl Importer<'_> {
    /// The first of `requirements` (OpenAPI's alternatives), as courier credentials. An empty
    /// list, or an empty requirement, is no auth.
    pub(super) fn credentials(&mut self, requirements: &[Value], what: &str) -> Credentials {
        let mut out = Credentials::default();
        let first = requirements.first().and_then(Value::as_object);
        let Some(requirement) = first.filter(|r| !r.is_empty()) else {
            out.auth = Some(json!({ "none": true }));
            return out;
        };
        for (name, scopes) in requirement {
            let scheme = self
                .spec
                .pointer(&format!("/components/securitySchemes/{}", escape(name)));
            let Some(scheme) = scheme.map(|s| self.resolve(s)) else {
                self.note(format!(
                    "{what}: the security scheme `{name}` is not described"
                ));
                continue;
            };
            let scopes: Vec<&str> = scopes
                .as_array()
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            self.scheme(name, scheme, &scopes, what, &mut out);
        }
        out
    }

    fn scheme(
        &mut self,
        name: &str,
        scheme: &Value,
        scopes: &[&str],
        what: &str,
        out: &mut Credentials,
    ) {
        let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
        let http = scheme
            .get("scheme")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        match (kind, http.as_str()) {
            ("http", "bearer") | ("openIdConnect", _) => {
                out.auth = Some(json!({ "bearer": self.credential("access_token") }));
            }
            ("http", "basic" | "digest") => {
                out.auth = Some(json!({ http: {
                    "username": self.variable("username"),
                    "password": self.credential("password"),
                }}));
            }
            ("apiKey", _) => self.api_key(name, scheme, what, out),
            ("oauth2", _) => out.auth = Some(self.oauth2(scheme, scopes, what)),
            _ => self.note(format!(
                "{what}: the security scheme `{name}` ({kind} {http}) has no courier auth"
            )),
        }
    }

    fn api_key(&mut self, name: &str, scheme: &Value, what: &str, out: &mut Credentials) {
        let var = variable_name(name);
        let Some(key) = scheme.get("name").and_then(Value::as_str) else {
            self.note(format!("{what}: the API key `{name}` has no `name`"));
            return;
        };
        match scheme.get("in").and_then(Value::as_str) {
            Some("header") => out.headers.push((key.to_owned(), self.credential(&var))),
            Some("query") => out.query.push((key.to_owned(), self.credential(&var))),
            _ => self.note(format!("{what}: the API key `{name}` goes in a cookie, which courier does not set from auth; add a `Cookie` header")),
        }
    }

    /// Client credentials when the scheme has that flow, else a refresh token for the
    /// authorization-code flow; the implicit and password flows send a bearer token got
    /// elsewhere.
    fn oauth2(&mut self, scheme: &Value, scopes: &[&str], what: &str) -> Value {
        let flows = scheme.get("flows");
        let flow = |name: &str| flows.and_then(|f| f.get(name));
        let (grant, flow) = match (flow("clientCredentials"), flow("authorizationCode")) {
            (Some(flow), _) => ("client_credentials", flow),
            (None, Some(flow)) => ("refresh_token", flow),
            (None, None) => {
                self.note(format!("{what}: an OAuth2 flow courier does not run (implicit or password): it sends `access_token` as a bearer token"));
                return json!({ "bearer": self.credential("access_token") });
            }
        };
        let token_url = flow
            .get("tokenUrl")
            .and_then(Value::as_str)
            .unwrap_or("/oauth/token");
        let token_url = match token_url.starts_with("http") {
            true => token_url.to_owned(),
            false => format!("{{{{ base_url }}}}/{}", token_url.trim_start_matches('/')),
        };
        let mut auth = json!({
            "grant": grant,
            "token_url": token_url,
            "client_id": self.credential("client_id"),
            "client_secret": self.credential("client_secret"),
        });
        if grant == "refresh_token" {
            auth["refresh_token"] = self.credential("refresh_token");
            self.persist.insert("refresh_token".into());
        }
        if !scopes.is_empty() {
            auth["scope"] = scopes.join(" ").into();
        }
        json!({ "oauth2": auth })
    }

    /// `{{ name }}` for a credential the user gives: needed, and masked.
    fn credential(&mut self, name: &str) -> Value {
        self.secrets.insert(name.to_owned());
        self.variable(name)
    }

    /// `{{ name }}` for a value the user gives: needed unless the collection defines it.
    pub(super) fn variable(&mut self, name: &str) -> Value {
        if !self.variables.contains_key(name) {
            self.needs.insert(name.to_owned());
        }
        format!("{{{{ {name} }}}}").into()
    }
}

/// A JSON Pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
