//! `rdslogs dlq`: list, show, selective and full redrive after a permanent
//! failure and its recovery, and purge, on the local stack.

use integration_tests::{LocalStack, StackOptions};
use rds_sim::{Fault, FaultRule, FaultTarget};
use serde_json::Value;

use crate::{assert_exit, json, rdslogs, stdout};

const PG_FILE: &str = "error/postgresql.log.2026-11-20-13";
const MYSQL_FILE: &str = "error/mysql-error.log";

fn access_denied(instance: &str, file: &str) -> FaultRule {
    FaultRule {
        target: FaultTarget::Download {
            instance: Some(instance.into()),
            file: Some(file.into()),
        },
        fault: Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
            message: "not authorized to perform rds:DownloadCompleteDBLogFile".into(),
        },
        times: None,
    }
}

fn entries(stack: &LocalStack) -> Vec<Value> {
    let listed = json(&rdslogs(stack, &["dlq", "list", "--json"]));
    assert_eq!(listed["complete"], true, "{listed}");
    listed["entries"].as_array().unwrap().clone()
}

fn entry_for<'a>(entries: &'a [Value], file: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["file"] == file)
        .unwrap_or_else(|| panic!("no entry for {file}: {entries:?}"))
}

async fn send_to_dlq(stack: &LocalStack, body: &str) {
    stack
        .clients
        .sqs
        .send_message()
        .queue_url(&stack.dlq_url)
        .message_body(body)
        .send()
        .await
        .expect("send to the dead-letter queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_listed_shown_and_redriven_selectively_after_recovery() {
    // GIVEN two files RDS refuses with 403 until the operator fixes access
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.sim.faults.add(access_denied("pg-orders", PG_FILE));
    stack
        .sim
        .faults
        .add(access_denied("mysql-billing", MYSQL_FILE));
    stdout(&rdslogs(&stack, &["list-once"]));
    // WHEN the worker retries them until SQS dead-letters them (3 receives)
    let worked = stdout(&rdslogs(
        &stack,
        &["work", "--until-empty", "--retry-delay", "0"],
    ));
    assert!(worked.contains("6 failed attempts"), "{worked}");

    // THEN `dlq list` shows both, joined with their failure records
    let listed = entries(&stack);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let pg = entry_for(&listed, PG_FILE);
    assert_eq!(pg["instance"], "pg-orders");
    assert_eq!(pg["state"], "failing");
    let size = stack.source_bytes("pg-orders", PG_FILE).len() as u64;
    assert_eq!(pg["version"]["size"].as_u64(), Some(size));
    let failure = &pg["record"]["failure"];
    assert_eq!(failure["attempts"], 3);
    assert_eq!(failure["permanent"], true);
    assert!(
        failure["last_error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{failure}"
    );
    assert!(failure["first_failed_ms"].as_i64() <= failure["last_failed_ms"].as_i64());
    assert!(pg["age_ms"].as_i64().unwrap() >= 0);
    // AND listing consumed nothing: a second list and the table see both
    let table = stdout(&rdslogs(&stack, &["dlq", "list"]));
    assert!(
        table.contains(PG_FILE) && table.contains(MYSQL_FILE),
        "{table}"
    );
    assert!(table.contains("2 dead-lettered messages"), "{table}");
    assert!(table.contains("download, permanent"), "{table}");
    assert_exit(
        &rdslogs(&stack, &["dlq", "list", "--instance", "no-such-db"]),
        3,
    );

    // `dlq show` takes an id prefix and tells everything
    let pg_id = pg["id"].as_str().unwrap().to_owned();
    let shown = stdout(&rdslogs(&stack, &["dlq", "show", &pg_id[..8]]));
    for expected in [
        pg_id.as_str(),
        PG_FILE,
        "attempts",
        "AccessDenied",
        "permanent",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    let shown = json(&rdslogs(&stack, &["dlq", "show", &pg_id, "--json"]));
    assert_eq!(shown["id"], pg_id.as_str());
    assert_exit(&rdslogs(&stack, &["dlq", "show", "no-such-id"]), 3);

    // WHEN access is fixed and one instance is redriven (a dry run first)
    stack.sim.faults.clear();
    let dry = stdout(&rdslogs(
        &stack,
        &["dlq", "redrive", "--instance", "pg-orders", "--dry-run"],
    ));
    assert!(dry.contains(&format!("would move {pg_id}")), "{dry}");
    assert_eq!(entries(&stack).len(), 2, "a dry run moves nothing");
    let moved = stdout(&rdslogs(
        &stack,
        &["dlq", "redrive", "--instance", "pg-orders"],
    ));
    assert!(moved.contains("moved 1 of 1"), "{moved}");
    // THEN only that one left the dead-letter queue, and it ships
    let left = entries(&stack);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["file"], MYSQL_FILE);
    let worked = stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    assert!(worked.contains("shipped 1 files, 0 failed"), "{worked}");
    assert_eq!(
        stack
            .object(&stack.key("pg-orders", PG_FILE))
            .await
            .unwrap(),
        stack.source_bytes("pg-orders", PG_FILE)
    );
    assert_eq!(stack.file_state("pg-orders", PG_FILE).await.failure, None);

    // AND the other is redriven by id
    let mysql_id = left[0]["id"].as_str().unwrap().to_owned();
    let moved = json(&rdslogs(
        &stack,
        &["dlq", "redrive", "--id", &mysql_id[..8], "--json"],
    ));
    assert_eq!(moved["moved"], serde_json::json!([mysql_id]));
    stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    assert!(
        stack
            .object(&stack.key("mysql-billing", MYSQL_FILE))
            .await
            .is_some()
    );
    assert!(entries(&stack).is_empty());
    // Nothing left to redrive.
    assert_exit(&rdslogs(&stack, &["dlq", "redrive", "--all"]), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_redrive_moves_more_than_one_batch_including_malformed_bodies() {
    // GIVEN more dead letters than one receive returns, one not a work message
    let stack = LocalStack::start(StackOptions::default()).await;
    let files = stack.source_files();
    assert!(files.len() >= 12, "{files:?}");
    for (instance, file) in &files[..12] {
        send_to_dlq(&stack, &stack.ship_request(instance, file)).await;
    }
    send_to_dlq(&stack, "not a work message").await;
    // THEN every one is listed, the malformed one with its reason
    let listed = entries(&stack);
    assert_eq!(listed.len(), 13);
    let malformed: Vec<&Value> = listed
        .iter()
        .filter(|e| e["state"] == "malformed")
        .collect();
    assert_eq!(malformed.len(), 1);
    assert!(
        malformed[0]["malformed"]
            .as_str()
            .unwrap()
            .contains("not a ship request")
    );
    assert_eq!(entries(&stack).len(), 13, "listing consumed nothing");
    // A work queue that cannot take them: nothing is deleted, the command fails.
    let no_queue = format!("{}/123456789012/no-such-queue", stack.moto_url);
    let failed = rdslogs(
        &stack,
        &["dlq", "redrive", "--all", "--queue-url", &no_queue],
    );
    assert_exit(&failed, 1);
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("all stay in the dead-letter queue"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert_eq!(entries(&stack).len(), 13, "send first, delete after");
    // WHEN everything is redriven
    let moved = stdout(&rdslogs(&stack, &["dlq", "redrive", "--all"]));
    assert!(moved.contains("moved 13 of 13"), "{moved}");
    // THEN the dead-letter queue is empty and the files ship from the work queue
    assert!(entries(&stack).is_empty());
    let worked = stdout(&rdslogs(
        &stack,
        &["work", "--until-empty", "--retry-delay", "0"],
    ));
    assert!(worked.contains("shipped 12 files"), "{worked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_every_dead_letter_only_when_confirmed() {
    let stack = LocalStack::start(StackOptions::default()).await;
    for (instance, file) in stack.source_files().iter().take(3) {
        send_to_dlq(&stack, &stack.ship_request(instance, file)).await;
    }
    let refused = rdslogs(&stack, &["dlq", "purge"]);
    assert_exit(&refused, 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(entries(&stack).len(), 3);
    let purged = json(&rdslogs(&stack, &["dlq", "purge", "--yes", "--json"]));
    assert_eq!(purged["purged"], true, "{purged}");
    assert!(entries(&stack).is_empty());
}
