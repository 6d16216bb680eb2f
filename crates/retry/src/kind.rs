//! [`FailureKind`]: the five ways a transfer can fail, as a caller acts on them.

use std::fmt;

/// What kind of failure an error is, asked of a library error the way reqwest lets callers ask
/// `is_timeout()` or `is_status()`. Libraries classify; only the apps (through `fw-cli`) turn a
/// kind into an exit code, so no library knows about processes or flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Refused before anything was sent: a policy said no (type, size, name), or the input is
    /// missing, unreadable or not what the operation takes. Trying again changes nothing.
    Refused,
    /// The request itself is malformed (a bad URL or header) before any byte leaves.
    Invalid,
    /// The server answered and said no (an HTTP 4xx/5xx status, after any retries).
    Rejected,
    /// The network failed or a timeout ran out: connect, reset, idle or overall deadline.
    Network,
    /// What arrived is not what was promised: a lying type, a short or long body, a checksum that
    /// does not match, a file that changed while it was sent, an unreadable answer.
    Integrity,
    /// Anything else: local I/O on the destination, an internal error.
    Other,
}

impl FailureKind {
    /// A short lower-case name for logs and JSON (`refused`, `invalid`, `rejected`, `network`,
    /// `integrity`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Refused => "refused",
            FailureKind::Invalid => "invalid",
            FailureKind::Rejected => "rejected",
            FailureKind::Network => "network",
            FailureKind::Integrity => "integrity",
            FailureKind::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_lower_case() {
        let all = [
            FailureKind::Refused,
            FailureKind::Invalid,
            FailureKind::Rejected,
            FailureKind::Network,
            FailureKind::Integrity,
            FailureKind::Other,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|k| k.to_string()).collect();
        assert_eq!(names.len(), all.len());
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase()))
        );
    }
}
