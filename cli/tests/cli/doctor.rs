//! `rdslogs doctor` on the local stack: every check passes on a stack set
//! up as `rdslogs setup` does; a missing table or a queue without a redrive
//! policy each fail their line and the exit code (an unknown stack: stack.rs).

use integration_tests::{LocalStack, StackOptions};
use serde_json::Value;

use crate::{assert_exit, json, rdslogs, stdout};

fn line<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .unwrap_or_else(|| panic!("no {check} line in {report:#}"))
}

/// The JSON report of a run that failed with exit code 1.
fn failed_report(out: &std::process::Output) -> Value {
    assert_exit(out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checks failed"), "{stderr}");
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_on_a_stack_set_up_as_setup_does() {
    let stack = LocalStack::start(StackOptions::default()).await;

    let report = json(&rdslogs(&stack, &["doctor", "--json"]));

    assert_eq!(report["passed"], true, "{report:#}");
    for check in report["checks"].as_array().unwrap() {
        let expected = if check["check"] == "function roles" {
            "skipped"
        } else {
            "ok"
        };
        assert_eq!(check["result"], expected, "{check:#}");
    }
    let download = line(&report, "signed download");
    assert!(
        download["detail"].as_str().unwrap().contains("bytes"),
        "{download:#}"
    );
    let probe = line(&report, "missing key answers 404");
    assert!(
        probe["detail"]
            .as_str()
            .unwrap()
            .contains("rds-logs/.rdslogs-doctor/"),
        "{probe:#}"
    );
    // The table for people says the same.
    let table = stdout(&rdslogs(&stack, &["doctor"]));
    assert!(table.contains("7 ok, 0 failed, 1 skipped"), "{table}");
    assert!(
        table.contains("STATE TABLE") || table.contains("state table"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_or_a_queue_without_redrive_fail_their_line() {
    let stack = LocalStack::start(StackOptions::default()).await;

    // GIVEN a table name that does not exist
    let out = rdslogs(
        &stack,
        &["doctor", "--json", "--state-table", "no-such-table"],
    );
    let report = failed_report(&out);
    let table = line(&report, "state table");
    assert_eq!(table["result"], "failed", "{table:#}");
    assert!(
        table["fix"].as_str().unwrap().contains("rdslogs setup"),
        "{table:#}"
    );
    // Every other check still ran and passed.
    assert_eq!(line(&report, "work queue")["result"], "ok");
    assert_eq!(line(&report, "signed download")["result"], "ok");

    // GIVEN a work queue without a redrive policy
    let id = &stack.worker_config.bucket["rdslogs-test-".len()..];
    let bare = stack
        .clients
        .sqs
        .create_queue()
        .queue_name(format!("bare-{id}"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let report = failed_report(&rdslogs(
        &stack,
        &["doctor", "--json", "--queue-url", &bare],
    ));
    let work = line(&report, "work queue");
    assert_eq!(work["result"], "failed", "{work:#}");
    assert!(
        work["detail"]
            .as_str()
            .unwrap()
            .contains("no redrive policy"),
        "{work:#}"
    );
    assert_eq!(line(&report, "state table")["result"], "ok");
}
