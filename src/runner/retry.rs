//! When a failed exchange may be sent again, and how long to wait first.
//!
//! The rule protects rotating tokens: Zoom kills a refresh token the moment it issues the next
//! one, so a refresh whose answer was lost must not be sent again blindly (the retry would spend
//! a dead token and the new one would be gone for good). So:
//!
//! - a connection that was never made (refused, DNS, TLS handshake) is retried: nothing left the
//!   machine;
//! - `429 Too Many Requests` and `503 Service Unavailable` are retried: the server says it did
//!   not process the request. `Retry-After` is honoured in seconds, HTTP-date or ISO-8601 form;
//! - a timeout or a connection broken after the request went out is retried only for idempotent
//!   methods (GET, HEAD, PUT, DELETE, OPTIONS) of requests that carry no persistent variable.

use std::time::{Duration, SystemTime};

use crate::http::TransportError;

/// The first backoff; each retry doubles it.
const BASE_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`--retry N`).
    pub retries: u32,
    /// The longest wait courier accepts, from backoff or from `Retry-After`.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 0,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// What a request is, as far as retrying it is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Attempted<'a> {
    pub method: &'a str,
    /// The request carries a value that is single-use on the server (a refresh token).
    pub carries_rotating_token: bool,
    /// Retries already made.
    pub retries_done: u32,
}

impl RetryPolicy {
    /// The wait before retrying after a transport failure, or `None` to give up.
    pub fn after_error(&self, attempt: Attempted<'_>, error: &TransportError) -> Option<Duration> {
        if attempt.retries_done >= self.retries {
            return None;
        }
        let nothing_sent = matches!(error, TransportError::Connect(_));
        let may_repeat = !attempt.carries_rotating_token
            && matches!(
                attempt.method,
                "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
            );
        (nothing_sent || may_repeat).then(|| self.backoff(attempt.retries_done))
    }

    /// The wait before retrying after an answer, or `None` when the answer stands.
    pub fn after_status(
        &self,
        attempt: Attempted<'_>,
        status: u16,
        retry_after: Option<&str>,
    ) -> Option<Duration> {
        if attempt.retries_done >= self.retries || !matches!(status, 429 | 503) {
            return None;
        }
        let wait = retry_after
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
            .unwrap_or_else(|| self.backoff(attempt.retries_done));
        Some(wait.min(self.max_wait))
    }

    /// Exponential backoff with jitter: between half and all of `BASE_DELAY * 2^n`, so that many
    /// CI jobs failing together do not retry in lockstep.
    fn backoff(&self, retries_done: u32) -> Duration {
        let full = BASE_DELAY.saturating_mul(2u32.saturating_pow(retries_done.min(16)));
        let jittered = full.mul_f64(0.5 + fastrand::f64() * 0.5);
        jittered.min(self.max_wait)
    }
}

/// `Retry-After` as delay-seconds (`120`), an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`) or an
/// ISO-8601 timestamp (`2026-10-21T07:28:00Z`, which Zoom sends on its daily limit). A date in
/// the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value)
        .ok()
        .or_else(|| humantime::parse_rfc3339_weak(value.trim_end_matches('Z')).ok())?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            max_wait: Duration::from_secs(30),
        }
    }

    fn attempt(method: &str, rotating: bool, done: u32) -> Attempted<'_> {
        Attempted {
            method,
            carries_rotating_token: rotating,
            retries_done: done,
        }
    }

    #[test]
    fn refused_connections_are_retried_even_for_a_refresh() {
        let e = TransportError::Connect("refused".into());
        assert!(
            policy(2)
                .after_error(attempt("POST", true, 0), &e)
                .is_some()
        );
        assert!(
            policy(2)
                .after_error(attempt("POST", true, 2), &e)
                .is_none()
        );
    }

    #[test]
    fn a_lost_answer_to_a_refresh_is_never_retried() {
        let e = TransportError::Timeout(Duration::from_secs(1));
        assert!(
            policy(3)
                .after_error(attempt("POST", true, 0), &e)
                .is_none()
        );
        assert!(policy(3).after_error(attempt("GET", true, 0), &e).is_none());
        assert!(
            policy(3)
                .after_error(attempt("GET", false, 0), &e)
                .is_some()
        );
        assert!(
            policy(3)
                .after_error(attempt("POST", false, 0), &e)
                .is_none()
        );
    }

    #[test]
    fn only_429_and_503_are_retried_and_retry_after_is_capped() {
        let p = policy(1);
        assert_eq!(
            p.after_status(attempt("POST", true, 0), 429, Some("2")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.after_status(attempt("POST", true, 0), 503, Some("3600")),
            Some(Duration::from_secs(30))
        );
        assert!(
            p.after_status(attempt("POST", true, 0), 500, None)
                .is_none()
        );
        assert!(
            p.after_status(attempt("POST", true, 1), 429, None)
                .is_none()
        );
        assert!(
            policy(0)
                .after_status(attempt("GET", false, 0), 429, None)
                .is_none()
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sat, 28 Nov 2026 12:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("2026-11-28T12:01:00Z", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("2026-11-28T11:00:00Z", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_under_the_cap() {
        let p = policy(10);
        for n in 0..6 {
            let full = BASE_DELAY * 2u32.pow(n);
            let wait = p.backoff(n);
            assert!(
                wait <= full.min(p.max_wait) && wait >= (full / 2).min(p.max_wait),
                "{n}: {wait:?}"
            );
        }
    }
}
