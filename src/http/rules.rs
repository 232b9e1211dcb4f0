//! The HTTP layer's own rules for header values, checked on rendered text before anything is
//! sent, so that the preflight refuses what the wire would refuse after a token was spent. Each
//! error points at the template the text came from.

use crate::diag::{Diagnostic, Spot};

/// A CR or LF in a header value or URL would let a variable's value smuggle in headers of its
/// own (header injection).
pub fn reject_line_breaks(spot: &Spot, rendered: &str, what: &str) -> Result<(), Diagnostic> {
    if rendered.contains(['\r', '\n', '\0']) {
        return Err(Diagnostic::new(format!("{what} contains a line break after rendering"))
            .at(spot.clone())
            .label("renders to text with CR, LF or NUL")
            .note("a line break in a header or URL could inject headers of its own: courier refuses to send it")
            .help("remove the line break from the variable's value, e.g. with `| trim`"));
    }
    Ok(())
}

/// What `http` accepts in a header value: visible characters, spaces and tabs. A control
/// character is refused by the HTTP layer only when the request is sent; here it is refused
/// before anything is.
pub fn check_header_value(spot: &Spot, rendered: &str, what: &str) -> Result<(), Diagnostic> {
    reject_line_breaks(spot, rendered, what)?;
    if let Some(c) = rendered
        .chars()
        .find(|&c| (c < ' ' && c != '\t') || c == '\u{7f}')
    {
        return Err(Diagnostic::new(format!(
            "{what} contains the control character U+{:04X} after rendering",
            u32::from(c)
        ))
        .at(spot.clone())
        .label("renders to text with a control character")
        .note("HTTP header values may hold visible characters, spaces and tabs only: courier refuses to send it")
        .help("remove the character from the variable's value"));
    }
    Ok(())
}
