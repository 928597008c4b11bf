//! `rdslogs setup`, `list-once` and `work`, and how settings are checked.

use std::process::Command;

use integration_tests::{LocalStack, StackOptions};

use crate::{rdslogs, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_list_and_work_ship_the_fleet_then_a_second_cycle_ships_nothing() {
    // GIVEN a generated fleet and nothing created yet on the AWS side
    let stack = LocalStack::start(StackOptions {
        provision: false,
        ..StackOptions::default()
    })
    .await;
    stdout(&rdslogs(&stack, &["setup"]));
    // Setup is idempotent.
    stdout(&rdslogs(&stack, &["setup"]));
    // WHEN one cycle runs and the queue is drained
    let files = stack.source_files().len();
    let listed = stdout(&rdslogs(&stack, &["list-once"]));
    assert!(
        listed.contains(&format!("enqueued {files} file versions")),
        "{listed}"
    );
    let worked = stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    // THEN every file is reported shipped with its S3 key and is in S3
    assert!(
        worked.contains(&format!("shipped {files} files, 0 failed attempts")),
        "{worked}"
    );
    let key = stack.key("pg-orders", "error/ログ-ファイル.log");
    assert!(
        worked.contains(&format!("s3://{}/{key}", stack.worker_config.bucket)),
        "{worked}"
    );
    assert_eq!(
        stack.object(&key).await.unwrap(),
        stack.source_bytes("pg-orders", "error/ログ-ファイル.log")
    );
    // AND a second cycle finds nothing to do
    let again = stdout(&rdslogs(&stack, &["list-once", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&again).unwrap();
    let enqueued: u64 = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["enqueued"].as_u64().unwrap())
        .sum();
    assert_eq!(enqueued, 0, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_setting_fails_at_start_naming_the_variable() {
    let stack = LocalStack::start(StackOptions {
        provision: false,
        ..StackOptions::default()
    })
    .await;
    let out = Command::new(env!("CARGO_BIN_EXE_rdslogs"))
        .arg("list-once")
        .env_clear()
        .envs(
            stack
                .binary_env()
                .into_iter()
                .filter(|(k, _)| k != "RDSLOGS_STATE_TABLE"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RDSLOGS_STATE_TABLE: is not set"), "{err}");
    // Flags are checked like the variables they override.
    let out = rdslogs(&stack, &["list-once", "--instances", "not valid!"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RDSLOGS_INSTANCES"));
}
