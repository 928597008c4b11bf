//! `rdslogs --stack NAME`: a stack deployed into moto's CloudFormation
//! gives every deployment setting; flags override its outputs, and its
//! outputs override the RDSLOGS_* variables.

use std::process::{Command, Output};

use integration_tests::{
    LocalStack, SECRET_KEY, SESSION_TOKEN, StackOptions, credentials, sdk_config,
};
use serde_json::json;

use crate::{assert_exit, json, stdout};

const PREFIX: &str = "from-stack";

/// Deploys a stack whose outputs name the local stack's resources, as the
/// project's templates name theirs.
async fn deploy(stack: &LocalStack) -> String {
    let config = sdk_config(
        &stack.moto_url,
        credentials(SECRET_KEY, Some(SESSION_TOKEN)),
    );
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let name = format!(
        "shipper-{}",
        &stack.worker_config.bucket["rdslogs-test-".len()..]
    );
    let template = json!({
        "Resources": { "Placeholder": { "Type": "AWS::SQS::Queue" } },
        "Outputs": {
            "LogBucketName": { "Value": stack.worker_config.bucket },
            "KeyPrefix": { "Value": PREFIX },
            "StateTableName": { "Value": stack.worker_config.state_table },
            "WorkQueueUrl": { "Value": stack.queue_url() },
            "DeadLetterQueueUrl": { "Value": stack.dlq_url },
        }
    });
    cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("create the stack");
    name
}

/// `rdslogs` with the AWS settings, the instances, and `settings`: no other
/// RDSLOGS_* variable.
fn rdslogs_with(stack: &LocalStack, settings: &[(&str, &str)], args: &[&str]) -> Output {
    let aws_only = stack
        .binary_env()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("RDSLOGS_") || name == "RDSLOGS_INSTANCES");
    Command::new(env!("CARGO_BIN_EXE_rdslogs"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(aws_only)
        .envs(settings.iter().copied())
        .output()
        .expect("run rdslogs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_s_outputs_are_every_setting_a_run_needs() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let name = deploy(&stack).await;

    // WHEN the pipeline runs with only --stack (and the instances) set
    stdout(&rdslogs_with(&stack, &[], &["--stack", &name, "list-once"]));
    stdout(&rdslogs_with(
        &stack,
        &[],
        &["work", "--until-empty", "--stack", &name],
    ));

    // THEN every file is in the stack's bucket under the stack's prefix
    let keys = stack.object_keys().await;
    assert_eq!(keys.len(), stack.source_files().len(), "{keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with("from-stack/")),
        "{keys:?}"
    );
    // ... and the variable names the stack as the flag does
    let status = json(&rdslogs_with(
        &stack,
        &[("RDSLOGS_STACK", &name)],
        &["status", "--json"],
    ));
    assert_eq!(
        status["total"]["shipped"].as_u64(),
        Some(keys.len() as u64),
        "{status:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_the_stack_and_the_stack_overrides_the_environment() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let name = deploy(&stack).await;
    let stale = [("RDSLOGS_STATE_TABLE", "a-stale-table")];

    // GIVEN a stale table in the environment: the stack's table is read
    stdout(&rdslogs_with(&stack, &stale, &["--stack", &name, "status"]));

    // GIVEN a table flag: the flag is read
    let out = rdslogs_with(
        &stack,
        &[],
        &[
            "--stack",
            &name,
            "--state-table",
            "a-flagged-table",
            "status",
        ],
    );
    assert_exit(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("state table a-flagged-table"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_that_does_not_exist_says_where_it_was_looked_for() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let out = rdslogs_with(&stack, &[], &["--stack", "no-such-stack", "status"]);
    assert_exit(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CloudFormation DescribeStacks of stack no-such-stack failed")
            && stderr.contains("to fix: no stack no-such-stack in eu-west-1"),
        "{stderr}"
    );
    // Doctor reads the stack the same way, before any check.
    let out = rdslogs_with(&stack, &[], &["doctor", "--stack", "no-such-stack"]);
    assert_exit(&out, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no stack no-such-stack"));
}
