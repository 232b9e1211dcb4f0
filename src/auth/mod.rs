//! Authentication: every kind of `auth:` a request may have. For each kind, one file here says
//! how its credentials become headers, which of their forms are secret (what the redactor
//! learns before anything is printed), and which wire rules the rendered credentials must meet
//! before anything is sent. The previews (`--dry-run`, `courier curl`) show those headers
//! through the same redactor, with `Authorization` masked whatever its value.
//!
//! A new kind is its model type (under `auth:` in `crate::model`), one file here that
//! implements [`Kind`] for it, and one line in [`kind`].

mod basic;
mod bearer;
mod digest;
pub mod oauth1;
mod oauth2;

use crate::diag::Diagnostic;
use crate::model::{Auth, Tmpl};
use crate::secrets::Redactor;

/// Renders one template of the request with the variables of the moment.
pub type Render<'r> = dyn Fn(&Tmpl) -> Result<String, Diagnostic> + 'r;

/// What every kind of authentication knows about itself.
pub trait Kind {
    /// Every template it reads, for compiling and for the undefined-variable check.
    fn templates(&self) -> Vec<&Tmpl>;

    /// The headers the credentials are sent as. Every secret form of them (a token, the
    /// base64 of `user:password`) is taught to `redactor` first.
    fn headers(
        &self,
        render: &Render<'_>,
        redactor: &mut Redactor,
    ) -> Result<Vec<(String, String)>, Diagnostic>;

    /// The wire's rules for what [`Kind::headers`] would send, checked before the run.
    fn preflight(&self, render: &Render<'_>) -> Result<(), Diagnostic>;
}

/// The kind behind a request's `auth:`.
pub fn kind(auth: &Auth) -> &dyn Kind {
    match auth {
        Auth::Basic(basic) => basic,
        Auth::Digest(digest) => digest,
        Auth::OAuth1(oauth1) => oauth1.as_ref(),
        Auth::Bearer(bearer) => bearer,
        Auth::OAuth2(oauth2) => oauth2.as_ref(),
        Auth::None => &oauth2::NoAuth,
    }
}
