//! The crate's error type and the one place that decides whether an error is
//! transient (retry the file) or permanent (record why and stop retrying).

mod aws;

pub use aws::{
    AwsCall, AwsError, ErrorClass, FIX_MARK, PermanentCause, THROTTLING_CODES, classify,
};

/// The log target of events that report an outcome the caller also gets as
/// a value (a failed record, an instance that failed its listing). Lambda
/// logs them; `rdslogs` prints the value and leaves them out, so each
/// failure shows once.
pub const OUTCOME_LOG: &str = "shipper::outcome";

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
    #[error(
        "the S3 key of {file} of {instance} is {bytes} bytes, over S3's limit of \
         {MAX_KEY_BYTES}: shorten RDSLOGS_PREFIX or RDSLOGS_KEY_TEMPLATE ({key})"
    )]
    KeyTooLong {
        instance: String,
        file: String,
        key: String,
        bytes: usize,
    },
    #[error(
        "the new version of {file} of {instance} does not start with the bytes shipped to \
         {key}; it goes to a key of its own"
    )]
    NotAnExtension {
        instance: String,
        file: String,
        key: String,
    },
    #[error(
        "{instance} is now another instance (resource id {current}, listed as {listed}); \
         {file} was not shipped under the old one's name"
    )]
    IncarnationChanged {
        instance: String,
        file: String,
        listed: String,
        current: String,
    },
    #[error(
        "not started: {left_ms} ms of the invocation left, less than RDSLOGS_MIN_RECORD_SECS; \
         SQS delivers it again"
    )]
    Deferred { left_ms: u64 },
    #[error(
        "{file} of {instance} stopped at the invocation's deadline after {received} bytes; \
         raise the worker's timeout or memory, or lower the batch size"
    )]
    DeadlineReached {
        instance: String,
        file: String,
        received: u64,
    },
    #[error("log file {file} is gone from {instance}: {reason}")]
    LogFileGone {
        instance: String,
        file: String,
        reason: String,
    },
    #[error("failed to download {file} from {instance}: {source}{}", download_fix(.source, .instance))]
    Download {
        instance: String,
        file: String,
        #[source]
        source: DownloadError,
    },
    #[error("RDS DescribeDBInstances in region {region} failed: {source}")]
    Discovery {
        region: String,
        #[source]
        source: AwsError,
    },
    #[error("RDS DescribeDBLogFiles of {instance} failed: {source}")]
    Listing {
        instance: String,
        #[source]
        source: AwsError,
    },
    #[error("S3 {op} of s3://{bucket}/{key} failed: {source}")]
    S3 {
        op: &'static str,
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
    #[error("DynamoDB {op} on state table {table} failed: {source}")]
    State {
        table: String,
        op: &'static str,
        #[source]
        source: AwsError,
    },
    #[error("SQS {op} on queue {queue} failed: {source}")]
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
    #[error(
        "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run where a role \
         is attached)"
    )]
    NoCredentials,
    #[error("no AWS region (set AWS_REGION)")]
    NoRegion,
    #[error("cannot compress the log stream: {0}")]
    Compression(String),
    #[error("lister cycle incomplete: {}", problems.join("; "))]
    IncompleteCycle { problems: Vec<String> },
    #[error("RDS {op} for a snapshot of {target} failed: {source}")]
    Snapshot {
        target: String,
        op: &'static str,
        #[source]
        source: AwsError,
    },
    #[error("CloudFormation DescribeStacks of stack {stack} failed: {source}")]
    Stack {
        stack: String,
        #[source]
        source: AwsError,
    },
}

impl Error {
    /// The single transient-or-permanent decision. Transient: another try
    /// may succeed (throttling, 5xx, a cut or truncated stream, a skewed
    /// clock, a lost race). Permanent: the same message can never succeed as
    /// things are: it is malformed, the file is gone, or AWS refuses it for a
    /// reason an operator must fix (a denial, a missing bucket, table or
    /// queue, a KMS key, a key too long), classified by AWS error code in
    /// `classify`. The record still reaches the dead-letter queue; nothing is
    /// dropped but a vanished file. Unknown codes are retried and logged.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::MalformedMessage { .. }
            | Error::UnsafeFileName { .. }
            | Error::LogFileGone { .. }
            | Error::IncarnationChanged { .. }
            | Error::KeyTooLong { .. }
            | Error::NoCredentials
            | Error::NoRegion
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
            Error::Discovery { source, .. }
            | Error::Listing { source, .. }
            | Error::S3 { source, .. }
            | Error::State { source, .. }
            | Error::Queue { source, .. }
            | Error::Provision { source, .. }
            | Error::Snapshot { source, .. }
            | Error::Stack { source, .. } => source.is_transient(),
            Error::ObjectChanged { .. }
            | Error::Deferred { .. }
            | Error::DeadlineReached { .. }
            | Error::NotAnExtension { .. }
            | Error::Verification { .. }
            | Error::Credentials(_)
            | Error::Compression(_)
            | Error::IncompleteCycle { .. } => true,
        }
    }

    /// A short machine-friendly reason, for metrics and the state table.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::MalformedMessage { .. } => "malformed_message",
            Error::UnsafeFileName { .. } => "unsafe_file_name",
            Error::LogFileGone { .. } => "log_file_gone",
            Error::IncarnationChanged { .. } => "incarnation_changed",
            Error::Deferred { .. } => "deferred",
            Error::DeadlineReached { .. } => "timed_out",
            Error::Download { .. } => "download",
            Error::Discovery { .. } => "discovery",
            Error::Listing { .. } => "listing",
            // A read (is the object there, what does it hold) is not a
            // failed upload.
            Error::S3 {
                op:
                    "HeadObject"
                    | "GetObject"
                    | "ListMultipartUploads"
                    | "ListObjectVersions"
                    | "ListObjectsV2",
                ..
            } => "s3_read",
            Error::S3 { .. } => "upload",
            Error::ObjectChanged { .. } => "object_changed",
            Error::Verification { .. } => "verification",
            Error::State { .. } => "state",
            Error::Queue { .. } => "queue",
            Error::Provision { .. } => "provision",
            Error::Credentials(_) | Error::NoCredentials => "credentials",
            Error::NoRegion => "config",
            Error::Compression(_) => "compression",
            Error::IncompleteCycle { .. } => "incomplete_cycle",
            Error::Snapshot { .. } => "snapshot",
            Error::Stack { .. } => "stack",
            Error::KeyTooLong { .. } => "key_too_long",
            Error::NotAnExtension { .. } => "not_an_extension",
        }
    }
}

/// What to do about a download RDS refused for good, as for any AWS call.
fn download_fix(source: &DownloadError, instance: &str) -> String {
    let DownloadError::Status {
        status,
        code,
        message,
    } = source
    else {
        return String::new();
    };
    match classify(Some(code), Some(*status), message) {
        ErrorClass::Permanent(cause) => {
            let resource = format!("DB instance {instance}");
            let call = AwsCall {
                action: "rds:DownloadCompleteDBLogFile",
                resource: &resource,
            };
            format!("{FIX_MARK}{}", aws::fix_for(cause, Some(code), call))
        }
        _ => String::new(),
    }
}

/// An error and its causes on one line, each text once: errors here name
/// their cause in their own text, so a plain walk of the chain repeats it.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// S3's limit on an object key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A download of file f from instance db that failed with `source`.
    fn download(source: DownloadError) -> Error {
        Error::Download {
            instance: "db".into(),
            file: "f".into(),
            source,
        }
    }

    #[test]
    fn bad_messages_and_vanished_files_are_permanent_the_rest_transient() {
        let gone = Error::LogFileGone {
            instance: "db".into(),
            file: "f".into(),
            reason: "404".into(),
        };
        let bad = Error::MalformedMessage { reason: "x".into() };
        let cut = download(DownloadError::Transport {
            received: 10,
            reason: "closed".into(),
        });
        let denied = download(DownloadError::Status {
            status: 403,
            code: "AccessDenied".into(),
            message: "no".into(),
        });
        assert!(!gone.is_transient());
        assert!(!bad.is_transient());
        assert!(cut.is_transient());
        assert!(!denied.is_transient());
        let throttled = download(DownloadError::Status {
            status: 400,
            code: "Throttling".into(),
            message: "Rate exceeded".into(),
        });
        assert!(throttled.is_transient());
        let no_credentials = download(DownloadError::Credentials("IMDS timed out".into()));
        assert!(no_credentials.is_transient());
        assert_eq!(
            cut.to_string(),
            "failed to download f from db: transfer failed after 10 bytes: closed"
        );
    }

    #[test]
    fn causes_name_each_cause_once() {
        // The download error names its cause in its own text, and has it as
        // its source too: said once.
        let cut = download(DownloadError::Transport {
            received: 10,
            reason: "closed".into(),
        });
        assert_eq!(
            causes(&cut),
            "failed to download f from db: transfer failed after 10 bytes: closed"
        );
        // A cause not in the text is added after it.
        let io = std::io::Error::other(Error::MalformedMessage { reason: "x".into() });
        assert_eq!(causes(&io), "malformed work message: x");
        #[derive(Debug, thiserror::Error)]
        #[error("reading the file")]
        struct Reading(#[source] std::io::Error);
        assert_eq!(
            causes(&Reading(io)),
            "reading the file: malformed work message: x"
        );
    }
}
