//! The crate's error type and the one place that decides whether an error is
//! transient (retry the file) or permanent (record why and stop retrying).

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// An AWS call that failed, reduced to what callers and logs need.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    /// The service's error code, such as `Throttling` or `NoSuchBucket`.
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    /// Converts any SDK error, keeping its code and its full chain of causes.
    pub fn from_sdk<E>(err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self {
            code: err.code().map(str::to_owned),
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// Why a download from the REST endpoint failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DownloadError {
    #[error("RDS answered HTTP {status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    #[error("transfer failed after {received} bytes: {reason}")]
    Transport { received: u64, reason: String },
    #[error("body ended after {received} bytes, but RDS listed {expected}")]
    Truncated { expected: u64, received: u64 },
    #[error("cannot sign the request: {0}")]
    Signing(String),
    /// The credentials provider failed (the Lambda role's endpoint, IMDS or
    /// STS can be briefly unavailable or throttled).
    #[error("cannot load credentials: {0}")]
    Credentials(String),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {name}: {reason}")]
    Config { name: &'static str, reason: String },
    #[error("malformed work message: {reason}")]
    MalformedMessage { reason: String },
    #[error("refusing log file {file:?} of {instance}: {reason}")]
    UnsafeFileName {
        instance: String,
        file: String,
        reason: String,
    },
    #[error("log file {file} is gone from {instance}: {reason}")]
    LogFileGone {
        instance: String,
        file: String,
        reason: String,
    },
    #[error("failed to download {file} from {instance}: {source}")]
    Download {
        instance: String,
        file: String,
        #[source]
        source: DownloadError,
    },
    #[error("failed to describe the DB instances of region {region}: {source}")]
    Discovery {
        region: String,
        #[source]
        source: AwsError,
    },
    #[error("failed to list log files of {instance}: {source}")]
    Listing {
        instance: String,
        #[source]
        source: AwsError,
    },
    #[error("failed to upload s3://{bucket}/{key}: {source}")]
    Upload {
        bucket: String,
        key: String,
        #[source]
        source: AwsError,
    },
    #[error("s3://{bucket}/{key} changed while this version was uploaded; not overwritten")]
    ObjectChanged { bucket: String, key: String },
    #[error("uploaded s3://{bucket}/{key} does not verify: {reason}")]
    Verification {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("state table {table}: {op} failed: {source}")]
    State {
        table: String,
        op: &'static str,
        #[source]
        source: AwsError,
    },
    #[error("queue {queue}: {op} failed: {source}")]
    Queue {
        queue: String,
        op: &'static str,
        #[source]
        source: AwsError,
    },
    #[error("cannot set up {resource}: {source}")]
    Provision {
        resource: String,
        #[source]
        source: AwsError,
    },
    #[error("cannot load AWS credentials: {0}")]
    Credentials(String),
    #[error("cannot compress the log stream: {0}")]
    Compression(String),
    #[error("lister cycle incomplete: {}", problems.join("; "))]
    IncompleteCycle { problems: Vec<String> },
    #[error("snapshot of {target}: {op} failed: {source}")]
    Snapshot {
        target: String,
        op: &'static str,
        #[source]
        source: AwsError,
    },
}

/// Error codes AWS services answer when a caller exceeds its request rate.
pub const THROTTLING_CODES: &[&str] =
    &["Throttling", "ThrottlingException", "RequestLimitExceeded"];

impl Error {
    /// The single transient-or-permanent decision. Transient: another try
    /// may succeed (throttling, 5xx, a cut or truncated stream, a skewed
    /// clock, any AWS error the SDK's own retries did not absorb). Permanent:
    /// the same message can never succeed as things are: it is malformed,
    /// the file is gone, or RDS refuses it with a 4xx such as AccessDenied
    /// (an operator must act; the record still reaches the dead-letter
    /// queue, nothing is dropped but a vanished file).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::MalformedMessage { .. }
            | Error::UnsafeFileName { .. }
            | Error::LogFileGone { .. }
            | Error::Config { .. } => false,
            Error::Download { source, .. } => match source {
                DownloadError::Status { status, code, .. } => {
                    *status >= 500
                        || *status == 429
                        || THROTTLING_CODES.contains(&code.as_str())
                        || code == "RequestExpired"
                }
                DownloadError::Signing(_) => false,
                DownloadError::Transport { .. }
                | DownloadError::Truncated { .. }
                | DownloadError::Credentials(_) => true,
            },
            _ => true,
        }
    }

    /// A short machine-friendly reason, for metrics and the state table.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::MalformedMessage { .. } => "malformed_message",
            Error::UnsafeFileName { .. } => "unsafe_file_name",
            Error::LogFileGone { .. } => "log_file_gone",
            Error::Download { .. } => "download",
            Error::Discovery { .. } => "discovery",
            Error::Listing { .. } => "listing",
            Error::Upload { .. } => "upload",
            Error::ObjectChanged { .. } => "object_changed",
            Error::Verification { .. } => "verification",
            Error::State { .. } => "state",
            Error::Queue { .. } => "queue",
            Error::Provision { .. } => "provision",
            Error::Credentials(_) => "credentials",
            Error::Compression(_) => "compression",
            Error::IncompleteCycle { .. } => "incomplete_cycle",
            Error::Snapshot { .. } => "snapshot",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_messages_and_vanished_files_are_permanent_the_rest_transient() {
        let gone = Error::LogFileGone {
            instance: "db".into(),
            file: "f".into(),
            reason: "404".into(),
        };
        let bad = Error::MalformedMessage { reason: "x".into() };
        let cut = Error::Download {
            instance: "db".into(),
            file: "f".into(),
            source: DownloadError::Transport {
                received: 10,
                reason: "closed".into(),
            },
        };
        let denied = Error::Download {
            instance: "db".into(),
            file: "f".into(),
            source: DownloadError::Status {
                status: 403,
                code: "AccessDenied".into(),
                message: "no".into(),
            },
        };
        assert!(!gone.is_transient());
        assert!(!bad.is_transient());
        assert!(cut.is_transient());
        assert!(!denied.is_transient());
        let throttled = Error::Download {
            instance: "db".into(),
            file: "f".into(),
            source: DownloadError::Status {
                status: 400,
                code: "Throttling".into(),
                message: "Rate exceeded".into(),
            },
        };
        assert!(throttled.is_transient());
        let no_credentials = Error::Download {
            instance: "db".into(),
            file: "f".into(),
            source: DownloadError::Credentials("IMDS timed out".into()),
        };
        assert!(no_credentials.is_transient());
        assert_eq!(
            cut.to_string(),
            "failed to download f from db: transfer failed after 10 bytes: closed"
        );
    }
}
