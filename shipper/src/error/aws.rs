//! An AWS call that failed, and the one table that classifies AWS error
//! codes: transient (retry) or permanent (an operator must act), with the fix.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Why a permanent AWS error happened, which decides the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermanentCause {
    /// IAM, a bucket or key policy, or the credentials refuse the call.
    Denied,
    /// The bucket, table or queue does not exist (in this account and region).
    MissingResource,
    /// The KMS key encrypting the resource refuses or is unusable.
    Kms,
    /// AWS refuses the request itself: a key over 1,024 bytes, an entity
    /// too large, a malformed parameter.
    InvalidRequest,
}

/// What another try of the same call can achieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Throttling, 5xx, timeouts, connection errors, races (409, 412).
    Transient,
    Permanent(PermanentCause),
    /// A code the table does not know: retried, and logged with its code so
    /// it can be added to the table.
    Unclassified,
}

impl ErrorClass {
    pub fn is_transient(self) -> bool {
        !matches!(self, ErrorClass::Permanent(_))
    }
}

/// Error codes AWS services answer when a caller exceeds its request rate.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
];

/// Codes worth another try besides throttling: the service failed, the
/// request timed out, or it lost a race that a fresh look resolves.
const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "PreconditionFailed",
    "ConditionalRequestConflict",
    "OperationAborted",
    "TransactionConflictException",
    "ConditionalCheckFailedException",
    // The upload was aborted under us (a stale-upload sweep): start afresh.
    "NoSuchUpload",
    // Bytes damaged in transit: the checksum caught it.
    "BadDigest",
    "XAmzContentSHA256Mismatch",
    // Clock skew and expiring session credentials heal on their own.
    "RequestTimeTooSkewed",
    "RequestExpired",
    "ExpiredToken",
    "ExpiredTokenException",
    "IDPCommunicationError",
];

const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
    "AccountProblem",
    "AuthorizationError",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "SignatureDoesNotMatch",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
];

const MISSING_CODES: &[&str] = &[
    "NoSuchBucket",
    "ResourceNotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "NonExistentQueue",
    "NoSuchEntity",
];

const INVALID_CODES: &[&str] = &[
    "KeyTooLongError",
    "EntityTooLarge",
    "EntityTooSmall",
    "InvalidArgument",
    "InvalidRequest",
    "InvalidBucketName",
    "MalformedXML",
    "ValidationException",
    "ValidationError",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "BatchRequestTooLong",
    "InvalidMessageContents",
    "InvalidBatchEntryId",
    "AWS.SimpleQueueService.BatchRequestTooLong",
];

/// The classification of an AWS answer: by its error code first, by its
/// HTTP status when the code is unknown or absent (a `HEAD` has no body).
pub fn classify(code: Option<&str>, status: Option<u16>, message: &str) -> ErrorClass {
    use ErrorClass::*;
    use PermanentCause::*;
    if let Some(code) = code {
        let lower = code.to_ascii_lowercase();
        let in_table = |table: &[&str]| table.iter().any(|c| c.eq_ignore_ascii_case(code));
        if in_table(THROTTLING_CODES) || in_table(TRANSIENT_CODES) {
            return Transient;
        }
        // S3 reports its key's refusals as `KMS.*`, SQS as `Kms*`, DynamoDB
        // as `KMS*Exception`; KMS throttling is still throttling.
        if lower.starts_with("kms") {
            return if lower.contains("throttl") {
                Transient
            } else {
                Permanent(Kms)
            };
        }
        if in_table(DENIED_CODES) {
            // S3 answers a KMS denial as AccessDenied naming the kms: action.
            return Permanent(if message.contains("kms:") {
                Kms
            } else {
                Denied
            });
        }
        if in_table(MISSING_CODES) {
            return Permanent(MissingResource);
        }
        if in_table(INVALID_CODES) {
            return Permanent(InvalidRequest);
        }
    }
    match status {
        Some(408 | 409 | 412 | 429) => Transient,
        Some(s) if s >= 500 => Transient,
        Some(403) => Permanent(if message.contains("kms:") {
            Kms
        } else {
            Denied
        }),
        Some(404) if code.is_none() => Permanent(MissingResource),
        _ => Unclassified,
    }
}

/// An AWS call that failed, reduced to what callers, logs and the state
/// table need.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}{}", fix_suffix(.fix))]
pub struct AwsError {
    /// The service's error code, such as `Throttling` or `NoSuchBucket`.
    pub code: Option<Box<str>>,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// AWS's code and message (or what failed, when no answer came).
    pub message: Box<str>,
    pub class: ErrorClass,
    /// What an operator does about a permanent error, once the adapter
    /// said which call on which resource failed (`in_call`).
    pub fix: Option<Box<str>>,
}

/// Where an error's text says what to do: it follows this mark, so a
/// terminal can put it on a line of its own.
pub const FIX_MARK: &str = "; to fix: ";

// The fields are boxed strings: errors travel in every `Result` of the crate.
fn fix_suffix(fix: &Option<Box<str>>) -> String {
    fix.as_ref()
        .map(|f| format!("{FIX_MARK}{f}"))
        .unwrap_or_default()
}

/// Which call failed on which resource: enough to name the fix.
#[derive(Debug, Clone, Copy)]
pub struct AwsCall<'a> {
    /// The IAM action the call needs, e.g. `s3:PutObject`.
    pub action: &'a str,
    /// The resource's ARN or name, e.g. `arn:aws:s3:::bucket/key`.
    pub resource: &'a str,
}

impl AwsError {
    /// Converts an SDK error, keeping its code, HTTP status and class; the
    /// full chain of causes goes to the debug log.
    pub fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        tracing::debug!(error = %DisplayErrorContext(&err), "AWS call failed");
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code: Option<Box<str>> = err.code().map(Into::into);
        let message = match (&err, &code) {
            (SdkError::ServiceError(_), Some(code)) => {
                format!("{code}: {}", err.message().unwrap_or("(no message)"))
            }
            (SdkError::ServiceError(_), None) => match status {
                Some(status) => format!("HTTP {status} without an error code"),
                None => DisplayErrorContext(&err).to_string(),
            },
            _ => DisplayErrorContext(&err).to_string(),
        };
        let class = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => ErrorClass::Transient,
            SdkError::ConstructionFailure(_) => {
                ErrorClass::Permanent(PermanentCause::InvalidRequest)
            }
            _ => classify(code.as_deref(), status, &message),
        };
        if class == ErrorClass::Unclassified {
            tracing::warn!(code = code.as_deref().unwrap_or("none"), status, %message,
                "AWS error code not in the classification table; retrying");
        }
        Self {
            code,
            status,
            message: message.into(),
            class,
            fix: None,
        }
    }

    /// An error raised on our side of a call (a request that could not be
    /// built, an answer missing a field): retried, like any unknown.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            code: None,
            status: None,
            message: message.into().into(),
            class: ErrorClass::Unclassified,
            fix: None,
        }
    }

    /// An error known only by its code and message, such as an entry of a
    /// batch call (SQS batches answer 200 and list the failed entries).
    pub fn from_code(code: &str, message: &str) -> Self {
        let message = format!("{code}: {message}");
        Self {
            class: classify(Some(code), None, &message),
            code: Some(code.into()),
            status: None,
            message: message.into(),
            fix: None,
        }
    }

    /// Names the fix of a permanent error for the call that failed.
    pub fn in_call(mut self, call: AwsCall<'_>) -> Self {
        self.fix = match self.class {
            ErrorClass::Permanent(cause) => Some(fix_for(cause, self.code.as_deref(), call).into()),
            _ => None,
        };
        self
    }

    /// Replaces the fix with a more specific one the caller knows.
    pub fn with_fix(mut self, class: ErrorClass, fix: impl Into<String>) -> Self {
        self.class = class;
        self.fix = Some(fix.into().into());
        self
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn is_transient(&self) -> bool {
        self.class.is_transient()
    }
}

pub(super) fn fix_for(cause: PermanentCause, code: Option<&str>, call: AwsCall<'_>) -> String {
    let AwsCall { action, resource } = call;
    match cause {
        PermanentCause::Denied => format!(
            "allow {action} on {resource} for the role or user that runs this \
             (the stack's roles: docs/deploy.md), and check its credentials"
        ),
        PermanentCause::MissingResource => format!(
            "{resource} does not exist in this account and region: check the name and \
             AWS_REGION, deploy the stack or run `rdslogs setup`"
        ),
        PermanentCause::Kms => format!(
            "the KMS key of {resource} refused {action}: allow kms:GenerateDataKey and \
             kms:Decrypt on that key to the worker role (stack parameter BucketKmsKeyArn) \
             and check that the key is enabled"
        ),
        PermanentCause::InvalidRequest if code == Some("KeyTooLongError") => format!(
            "{resource} is over S3's 1,024-byte key limit: shorten RDSLOGS_PREFIX or \
             RDSLOGS_KEY_TEMPLATE"
        ),
        PermanentCause::InvalidRequest => format!(
            "AWS refused {action} on {resource} as invalid ({}); the message says what",
            code.unwrap_or("no code")
        ),
    }
}

#[cfg(test)]
mod tests;
