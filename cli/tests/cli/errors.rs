//! What an operator reads when something is not set up: one error that
//! names the service, the call, the resource and the fix, each failure
//! once, and no noise from the SDK's probes.

use std::process::{Command, Output};

use integration_tests::{LocalStack, StackOptions};
use rds_sim::{Fault, FaultRule, FaultTarget};

use crate::{assert_exit, json, rdslogs};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `rdslogs` on a machine with no AWS set-up but `env`: no variables, an
/// empty home, and an instance-metadata endpoint that refuses (as off EC2).
fn unconfigured(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().expect("home");
    Command::new(env!("CARGO_BIN_EXE_rdslogs"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        .env("RDSLOGS_STATE_TABLE", "rdslogs-state")
        .envs(env.iter().copied())
        .output()
        .expect("run rdslogs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_state_table_is_one_error_naming_the_call_and_the_fix() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let table = format!("{}-missing", stack.worker_config.state_table);
    let missing = |call: &str| {
        format!(
            "error: DynamoDB {call} on state table {table} failed: ResourceNotFoundException: \
             Requested resource not found\n  to fix: table {table} does not exist in this \
             account and region: check the name and AWS_REGION, deploy the stack or run \
             `rdslogs setup`\n"
        )
    };
    // WHEN status reads a table that is not there
    let out = rdslogs(&stack, &["status", "--state-table", &table]);
    assert_exit(&out, 1);
    assert_eq!(stderr(&out), missing("Scan"));
    // AND a lister cycle runs against it
    let out = rdslogs(&stack, &["list-once", "--state-table", &table]);
    assert_exit(&out, 1);
    // THEN it stops before listing: no table, no "enqueued 0", one error
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        stderr(&out),
        missing("Query").replace(
            "error: DynamoDB",
            "error: lister cycle incomplete: cannot read the lister's records: DynamoDB"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_is_named_with_the_fix() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let queue = format!("{}-missing", stack.dlq_url);
    let out = rdslogs(&stack, &["dlq", "list", "--dlq-url", &queue]);
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        format!(
            "error: SQS ReceiveMessage on queue {queue} failed: \
             AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.\n  \
             to fix: queue {queue} does not exist in this account and region: check the name \
             and AWS_REGION, deploy the stack or run `rdslogs setup`\n"
        )
    );
}

#[test]
fn missing_credentials_and_region_are_named_once_without_sdk_noise() {
    // GIVEN a region but no credentials anywhere
    let out = unconfigured(&["status"], &[("AWS_REGION", "eu-west-1")]);
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "error: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run where \
         a role is attached)\n"
    );
    // GIVEN credentials but no region
    let out = unconfigured(
        &["status"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
    );
    assert_exit(&out, 1);
    assert_eq!(stderr(&out), "error: no AWS region (set AWS_REGION)\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failed_attempt_is_reported_once() {
    // GIVEN one file RDS refuses (3 receives before the dead-letter queue)
    let stack = LocalStack::start(StackOptions::default()).await;
    let file = "error/postgresql.log.2026-11-20-13";
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Download {
            instance: Some("pg-orders".into()),
            file: Some(file.into()),
        },
        fault: Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
            message: "not authorized".into(),
        },
        times: None,
    });
    assert_exit(&rdslogs(&stack, &["list-once"]), 0);
    let out = rdslogs(&stack, &["work", "--until-empty", "--retry-delay", "0"]);
    assert_exit(&out, 4);
    // THEN stderr has one line per attempt, not a log line and a message each
    let err = stderr(&out);
    let mentions = err.lines().filter(|l| l.contains(file)).count();
    assert_eq!(mentions, 3, "{err}");
    assert!(!err.contains("ERROR"), "{err}");
    // AND the line says what the dead-letter queue's failure record says
    let said = err.lines().last().unwrap();
    let said = &said[said.find("dead-letter queue): ").unwrap() + 20..];
    let listed = json(&rdslogs(&stack, &["dlq", "list", "--json"]));
    assert_eq!(
        listed["entries"][0]["record"]["failure"]["last_error"],
        said
    );
    assert_eq!(
        said,
        format!(
            "failed to download {file} from pg-orders: RDS answered HTTP 403 AccessDenied: not \
             authorized; to fix: allow rds:DownloadCompleteDBLogFile on DB instance pg-orders \
             for the role or user that runs this (the stack's roles: docs/deploy.md), and check \
             its credentials"
        )
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 failed attempts"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_where_one_instance_fails_is_partly_done_and_says_why_in_its_row() {
    // GIVEN RDS refuses to list one instance's files
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Action {
            action: "DescribeDBLogFiles".into(),
            instance: Some("pg-orders".into()),
        },
        fault: Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
            message: "not authorized".into(),
        },
        times: None,
    });
    let out = rdslogs(&stack, &["list-once"]);
    // THEN the others are listed, the row says why, and the exit code is 4
    assert_exit(&out, 4);
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("pg-orders"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains(
            "RDS DescribeDBLogFiles of pg-orders failed: AccessDenied: not authorized; to fix: \
             allow rds:DescribeDBLogFiles"
        ),
        "{row}"
    );
    assert!(table.contains("mysql-billing"), "{table}");
    assert_eq!(
        stderr(&out),
        "lister cycle incomplete: 1 instance failed (the note column says why)\n"
    );
}
