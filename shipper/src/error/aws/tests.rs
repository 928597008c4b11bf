//! Unit tests of `aws`.
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
    let missing = s3_put("NoSuchBucket", 404, "The specified bucket does not exist").in_call(call);
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
