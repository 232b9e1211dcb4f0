//! `auth: { basic: { username, password } }`: `Authorization: Basic base64(user:password)`,
//! as Zoom's token endpoint wants the client id and secret.

use base64::Engine as _;

use super::{Kind, Render};
use crate::diag::Diagnostic;
use crate::http::rules::reject_line_breaks;
use crate::model::{BasicAuth, Tmpl};
use crate::secrets::Redactor;

impl Kind for BasicAuth {
    fn templates(&self) -> Vec<&Tmpl> {
        vec![&self.username, &self.password]
    }

    fn headers(
        &self,
        render: &Render<'_>,
        redactor: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        let (user, password) = (render(&self.username)?, render(&self.password)?);
        reject_line_breaks(&self.username.spot, &user, "the Basic username")?;
        // The encoded pair is as secret as the password itself.
        redactor.add_basic(&user, &password);
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Ok(vec![("Authorization".into(), format!("Basic {encoded}"))])
    }

    fn preflight(&self, render: &Render<'_>) -> Result<(), Diagnostic> {
        reject_line_breaks(
            &self.username.spot,
            &render(&self.username)?,
            "the Basic username",
        )
    }
}
