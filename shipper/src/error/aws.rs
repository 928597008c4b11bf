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
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    /// A PutObject answered with `code` and `status`, as the SDK hands it over.
    fn s3_put(code: &str, status: u16, message: &str) -> AwsError {
        AwsError::from_sdk(SdkError::service_error(
            PutObjectError::generic(meta(code, message)),
            response(status),
        ))
    }

    #[test]
    fn s3_codes_are_classified_by_code_then_status() {
        use ErrorClass::*;
        use PermanentCause::*;
        let cases = [
            ("AccessDenied", 403, "Access Denied", Permanent(Denied)),
            (
                "AccessDenied",
                403,
                "User: arn:aws:sts::1:assumed-role/w is not authorized to perform: \
                 kms:GenerateDataKey on resource: arn:aws:kms:eu-west-1:1:key/k",
                Permanent(Kms),
            ),
            ("KMS.DisabledException", 400, "key disabled", Permanent(Kms)),
            ("KMS.NotFoundException", 400, "no key", Permanent(Kms)),
            ("NoSuchBucket", 404, "gone", Permanent(MissingResource)),
            (
                "KeyTooLongError",
                400,
                "too long",
                Permanent(InvalidRequest),
            ),
            ("EntityTooLarge", 400, "too big", Permanent(InvalidRequest)),
            ("InvalidAccessKeyId", 403, "who", Permanent(Denied)),
            ("SlowDown", 503, "slow", Transient),
            ("InternalError", 500, "oops", Transient),
            ("PreconditionFailed", 412, "changed", Transient),
            ("ConditionalRequestConflict", 409, "race", Transient),
            ("NoSuchUpload", 404, "aborted", Transient),
            ("RequestTimeTooSkewed", 403, "skew", Transient),
            ("ExpiredToken", 400, "old", Transient),
            // Unknown codes: the status decides, else retried and logged.
            ("SomethingNew", 503, "?", Transient),
            ("SomethingNew", 429, "?", Transient),
            ("SomethingNew", 403, "?", Permanent(Denied)),
            ("SomethingNew", 400, "?", Unclassified),
        ];
        for (code, status, message, expected) in cases {
            let err = s3_put(code, status, message);
            assert_eq!(err.class, expected, "{code} {status} {message}");
            assert_eq!(err.code(), Some(code));
            assert_eq!(err.status, Some(status));
            assert_eq!(
                err.is_transient(),
                !matches!(expected, Permanent(_)),
                "{code}"
            );
        }
    }

    #[test]
    fn dynamodb_and_sqs_codes_are_classified() {
        use ErrorClass::*;
        use PermanentCause::*;
        let dynamo = |code: &str, status| {
            AwsError::from_sdk(SdkError::service_error(
                UpdateItemError::generic(meta(code, "m")),
                response(status),
            ))
            .class
        };
        assert_eq!(
            dynamo("ResourceNotFoundException", 400),
            Permanent(MissingResource)
        );
        assert_eq!(dynamo("AccessDeniedException", 400), Permanent(Denied));
        assert_eq!(
            dynamo("UnrecognizedClientException", 400),
            Permanent(Denied)
        );
        assert_eq!(dynamo("KMSAccessDeniedException", 400), Permanent(Kms));
        assert_eq!(
            dynamo("ValidationException", 400),
            Permanent(InvalidRequest)
        );
        assert_eq!(
            dynamo("ProvisionedThroughputExceededException", 400),
            Transient
        );
        assert_eq!(dynamo("ThrottlingException", 400), Transient);
        assert_eq!(dynamo("TransactionConflictException", 400), Transient);
        assert_eq!(dynamo("InternalServerError", 500), Transient);
        let sqs = |code: &str, status| {
            AwsError::from_sdk(SdkError::service_error(
                SendMessageBatchError::generic(meta(code, "m")),
                response(status),
            ))
            .class
        };
        assert_eq!(
            sqs("AWS.SimpleQueueService.NonExistentQueue", 400),
            Permanent(MissingResource)
        );
        assert_eq!(sqs("QueueDoesNotExist", 400), Permanent(MissingResource));
        assert_eq!(sqs("KmsAccessDenied", 400), Permanent(Kms));
        assert_eq!(sqs("KmsThrottled", 400), Transient);
        assert_eq!(sqs("BatchRequestTooLong", 400), Permanent(InvalidRequest));
        assert_eq!(sqs("RequestThrottled", 400), Transient);
        assert_eq!(sqs("AccessDenied", 403), Permanent(Denied));
    }

    #[test]
    fn connection_failures_and_timeouts_are_transient_a_bad_request_is_not() {
        let refused: SdkError<PutObjectError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        assert_eq!(AwsError::from_sdk(refused).class, ErrorClass::Transient);
        let slow: SdkError<PutObjectError, HttpResponse> = SdkError::timeout_error("timed out");
        assert_eq!(AwsError::from_sdk(slow).class, ErrorClass::Transient);
        let cut: SdkError<PutObjectError, HttpResponse> =
            SdkError::response_error("body cut", response(200));
        assert_eq!(AwsError::from_sdk(cut).class, ErrorClass::Transient);
        let unbuildable: SdkError<PutObjectError, HttpResponse> =
            SdkError::construction_failure("missing key");
        assert_eq!(
            AwsError::from_sdk(unbuildable).class,
            ErrorClass::Permanent(PermanentCause::InvalidRequest)
        );
    }

    #[test]
    fn a_head_without_body_is_classified_by_its_status() {
        // S3 answers HEAD errors with no body, so no code: 403 is a denial.
        let denied = AwsError::from_sdk(SdkError::service_error(
            HeadObjectError::generic(ErrorMetadata::builder().build()),
            response(403),
        ));
        assert_eq!(denied.class, ErrorClass::Permanent(PermanentCause::Denied));
        assert_eq!(&*denied.message, "HTTP 403 without an error code");
        let unavailable = AwsError::from_sdk(SdkError::service_error(
            HeadObjectError::generic(ErrorMetadata::builder().build()),
            response(503),
        ));
        assert!(unavailable.is_transient());
    }

    #[test]
    fn a_permanent_error_names_its_fix_a_transient_one_does_not() {
        let call = AwsCall {
            action: "s3:PutObject",
            resource: "arn:aws:s3:::logs/rds-logs/db/f",
        };
        let denied = s3_put("AccessDenied", 403, "Access Denied").in_call(call);
        assert_eq!(
            denied.to_string(),
            "AccessDenied: Access Denied; to fix: allow s3:PutObject on \
             arn:aws:s3:::logs/rds-logs/db/f for the role or user that runs this (the stack's \
             roles: docs/deploy.md), and check its credentials"
        );
        let missing =
            s3_put("NoSuchBucket", 404, "The specified bucket does not exist").in_call(call);
        assert!(
            missing
                .to_string()
                .contains("does not exist in this account and region")
        );
        let kms = s3_put("KMS.DisabledException", 400, "disabled").in_call(call);
        assert!(
            kms.to_string()
                .contains("kms:GenerateDataKey and kms:Decrypt"),
            "{kms}"
        );
        let long = s3_put("KeyTooLongError", 400, "Your key is too long").in_call(call);
        assert!(long.to_string().contains("1,024-byte key limit"), "{long}");
        let slow = s3_put("SlowDown", 503, "Please reduce your request rate").in_call(call);
        assert_eq!(
            slow.to_string(),
            "SlowDown: Please reduce your request rate"
        );
    }
}
