//! DescribeStacks as AWS answers it: outputs, a stack that does not exist
//! (a validation error) and a denial.

use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
use aws_smithy_mocks::{Rule, mock};

use super::*;
use crate::mocks::{meta, mocked};

fn cloudformation(rules: &[&Rule]) -> aws_sdk_cloudformation::Client {
    mocked!(aws_sdk_cloudformation, rules)
}

fn output(key: &str, value: &str) -> Output {
    Output::builder()
        .output_key(key)
        .output_value(value)
        .build()
}

fn stack_with(outputs: Vec<Output>) -> DescribeStacksOutput {
    let stack = Stack::builder()
        .stack_name("shipper")
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .stack_status(StackStatus::CreateComplete)
        .set_outputs(Some(outputs))
        .build();
    DescribeStacksOutput::builder().stacks(stack).build()
}

#[tokio::test]
async fn the_outputs_fill_the_settings() {
    let described = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some("shipper"))
        .then_output(|| {
            stack_with(vec![
                output("LogBucketName", "logs"),
                output("StateTableName", "state"),
                output("OperatorPolicyArn", "arn:aws:iam::1:policy/p"),
            ])
        });
    let mut settings = RawSettings::default();
    apply_stack(&cloudformation(&[&described]), "shipper", &mut settings)
        .await
        .unwrap();
    assert_eq!(settings.bucket.as_deref(), Some("logs"));
    assert_eq!(settings.state_table.as_deref(), Some("state"));
    assert_eq!(settings.queue_url, None);
}

#[tokio::test]
async fn a_missing_stack_names_the_region_to_check() {
    let missing = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(meta("ValidationError", "Stack with id nope does not exist"))
    });
    let mut settings = RawSettings::default();
    let error = apply_stack(&cloudformation(&[&missing]), "nope", &mut settings)
        .await
        .unwrap_err();
    assert!(!error.is_transient());
    assert_eq!(
        error.to_string(),
        "CloudFormation DescribeStacks of stack nope failed: ValidationError: Stack with id \
         nope does not exist; to fix: no stack nope in eu-west-1: check --stack (or \
         RDSLOGS_STACK) and AWS_REGION (a stack's outputs are read in the region it was \
         deployed to)"
    );
}

#[tokio::test]
async fn a_denied_read_names_the_permission() {
    let denied = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_error(|| DescribeStacksError::generic(meta("AccessDenied", "not authorized")));
    let mut settings = RawSettings::default();
    let error = apply_stack(&cloudformation(&[&denied]), "s", &mut settings)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("allow cloudformation:DescribeStacks on stack s"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stack_of_another_project_is_refused() {
    let other = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_output(|| stack_with(vec![output("Endpoint", "x")]));
    let mut settings = RawSettings::default();
    let error = apply_stack(&cloudformation(&[&other]), "web", &mut settings)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("stack web has none of the outputs rdslogs reads (LogBucketName,"),
        "{error}"
    );
}
