//! SDK clients answered by `aws-smithy-mocks` rules, for the adapters'
//! unit tests of the AWS answers the local stack does not give.

/// A client of the SDK crate `$sdk` that answers only through `$rules`
/// (any order; an unmatched request fails).
macro_rules! mocked {
    ($sdk:ident, $rules:expr) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new()
            .rule_mode(aws_smithy_mocks::RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("eu-west-1"))
                .credentials_provider($sdk::config::Credentials::new(
                    "AKID", "secret", None, None, "test",
                ))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}
pub(crate) use mocked;

/// AWS's error code and message, as a service error carries them.
pub(crate) fn meta(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build()
}
