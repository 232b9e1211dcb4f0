//! `auth: { oauth2: { … } }`: `Authorization: Bearer <token>`, with a token courier gets
//! itself. Getting it (the cache in the state file, the token request, the saved rotation) is
//! the runner's: by the time a request is built, the token is a variable like any capture, and
//! this kind only sends it.

use super::bearer::bearer_header;
use super::{Kind, Render};
use crate::diag::Diagnostic;
use crate::model::{OAuth2Auth, Tmpl};
use crate::secrets::Redactor;

impl Kind for OAuth2Auth {
    fn templates(&self) -> Vec<&Tmpl> {
        vec![&self.token]
    }

    fn headers(
        &self,
        render: &Render<'_>,
        redactor: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        let token = render(&self.token)?;
        bearer_header(&self.spot, &token, "the OAuth2 access token", redactor)
    }

    /// The token is known only once it is fetched; its request is checked as a request.
    fn preflight(&self, _: &Render<'_>) -> Result<(), Diagnostic> {
        Ok(())
    }
}

/// `auth: { none: true }`: nothing.
pub(super) struct NoAuth;

impl Kind for NoAuth {
    fn templates(&self) -> Vec<&Tmpl> {
        Vec::new()
    }

    fn headers(
        &self,
        _: &Render<'_>,
        _: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        Ok(Vec::new())
    }

    fn preflight(&self, _: &Render<'_>) -> Result<(), Diagnostic> {
        Ok(())
    }
}
