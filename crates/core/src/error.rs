//! The closed vocabulary of failure kinds.
//!
//! Every error that crosses a crate boundary can say which [`ErrorKind`] it
//! is. The kind is what logs carry as a field and metrics carry as a label,
//! so it must stay a small closed set: never a URL, a message or a status
//! text. Code branches on the kind, never on message text.

use std::fmt;

/// What went wrong, coarsely. Used as the `kind` log field and metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The server took too long to connect or to send the whole body.
    Timeout,
    /// The connection failed (refused, reset, TLS, DNS).
    Connect,
    /// The server answered with an HTTP error status.
    Status,
    /// The body was larger than the configured cap.
    TooLarge,
    /// The address or scheme is not allowed (private address, bad redirect).
    Forbidden,
    /// Too many redirects, or a redirect loop.
    Redirect,
    /// The document is not a feed we can read.
    Parse,
    /// Reading a local file failed.
    Io,
    /// A sink or state store failed.
    Storage,
    /// The configuration is invalid.
    Config,
}

impl ErrorKind {
    /// The stable lowercase name used in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Status => "status",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Redirect => "redirect",
            ErrorKind::Parse => "parse",
            ErrorKind::Io => "io",
            ErrorKind::Storage => "storage",
            ErrorKind::Config => "config",
        }
    }

    /// Whether trying the same operation again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Timeout | ErrorKind::Connect | ErrorKind::Status | ErrorKind::Storage | ErrorKind::Io)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error and its sources in one line, `outer: inner: …`, skipping a
/// source whose text the line already holds (many errors repeat their
/// source's message).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}
