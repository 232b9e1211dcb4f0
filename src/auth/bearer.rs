//! `auth: { bearer: TOKEN }`: `Authorization: Bearer TOKEN`, as Zoom's API wants the access
//! token.

use super::{Kind, Render};
use crate::diag::{Diagnostic, Spot};
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
        bearer_header(&self.token.spot, &token, "the bearer token", redactor)
    }

    fn preflight(&self, render: &Render<'_>) -> Result<(), Diagnostic> {
        check_header_value(&self.token.spot, &render(&self.token)?, "the bearer token")
    }
}

/// `Authorization: Bearer TOKEN`, once the token meets the wire's rules; the redactor learns the
/// token first.
pub(super) fn bearer_header(
    spot: &Spot,
    token: &str,
    what: &str,
    redactor: &mut Redactor,
) -> Result<Vec<(String, String)>, Diagnostic> {
    check_header_value(spot, token, what)?;
    redactor.add(token);
    Ok(vec![("Authorization".into(), format!("Bearer {token}"))])
}
