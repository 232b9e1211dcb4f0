//! `auth: { digest: { username, password } }`: HTTP Digest authentication (RFC 7616). Nothing
//! is sent up front; the answer to the server's challenge is worked out where the response
//! comes in (`crate::http::digest`), from the credentials the built request carries.

use super::{Kind, Render};
use crate::diag::Diagnostic;
use crate::http::rules::reject_line_breaks;
use crate::model::{DigestAuth, Tmpl};
use crate::secrets::Redactor;

impl Kind for DigestAuth {
    fn templates(&self) -> Vec<&Tmpl> {
        vec![&self.username, &self.password]
    }

    /// No header: the password is taught to the redactor, which is all this step owes.
    fn headers(
        &self,
        render: &Render<'_>,
        redactor: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        let password = render(&self.password)?;
        redactor.add(&password);
        Ok(Vec::new())
    }

    fn preflight(&self, render: &Render<'_>) -> Result<(), Diagnostic> {
        reject_line_breaks(
            &self.username.spot,
            &render(&self.username)?,
            "the Digest username",
        )
    }
}
