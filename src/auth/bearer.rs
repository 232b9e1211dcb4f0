//! `auth: { bearer: TOKEN }`: `Authorization: Bearer TOKEN`, as Zoom's API wants the access
//! token.

use super::{Kind, Render};
use crate::diag::Diagnostic;
use crate::http::rules::check_header_value;
use crate::model::{BearerAuth, Tmpl};
use crate::secrets::Redactor;

impl Kind for BearerAuth {
    fn templates(&self) -> Vec<&Tmpl> {
        vec![&self.token]
    }

    fn headers(
        &self,
        render: &Render<'_>,
        redactor: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic> {
        let token = render(&self.token)?;
        check_header_value(&self.token.spot, &token, "the bearer token")?;
        redactor.add(&token);
        Ok(vec![("Authorization".into(), format!("Bearer {token}"))])
    }

    fn preflight(&self, render: &Render<'_>) -> Result<(), Diagnostic> {
        check_header_value(&self.token.spot, &render(&self.token)?, "the bearer token")
    }
}
