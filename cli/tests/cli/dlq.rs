//! `rdslogs dlq`: list, show, selective and full redrive after a permanent
//! failure and its recovery, and purge, on the local stack.

use integration_tests::{LocalStack, StackOptions};
use rds_sim::{Fault, FaultRule, FaultTarget};
use serde_json::Value;

use crate::{assert_exit, json, partly_done, rdslogs, stdout};

const PG_FILE: &str = "error/postgresql.log.2026-11-20-13";
const PG_OTHER: &str = "error/postgresql.log.2026-11-20-12";
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
async fn dead_letters_are_listed_shown_and_redriven_every_way_after_recovery() {
    // GIVEN three files RDS refuses with 403 until the operator fixes access
    let stack = LocalStack::start(StackOptions::default()).await;
    for (instance, file) in [
        ("pg-orders", PG_FILE),
        ("pg-orders", PG_OTHER),
        ("mysql-billing", MYSQL_FILE),
    ] {
        stack.sim.faults.add(access_denied(instance, file));
    }
    stdout(&rdslogs(&stack, &["list-once"]));
    // WHEN the worker retries them until SQS dead-letters them (3 receives)
    let worked = partly_done(&rdslogs(
        &stack,
        &["work", "--until-empty", "--retry-delay", "0"],
    ));
    assert!(worked.contains("9 failed attempts"), "{worked}");

    // THEN `dlq list` shows them, joined with their failure records
    let listed = entries(&stack);
    assert_eq!(listed.len(), 3, "{listed:?}");
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
    // AND listing consumed nothing: a second list and the table see them all
    let table = stdout(&rdslogs(&stack, &["dlq", "list"]));
    for file in [PG_FILE, PG_OTHER, MYSQL_FILE] {
        assert!(table.contains(file), "{file}: {table}");
    }
    assert!(table.contains("3 dead-lettered messages"), "{table}");
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
    let mysql_id = entry_for(&listed, MYSQL_FILE)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dry = stdout(&rdslogs(
        &stack,
        &["dlq", "redrive", "--instance", "mysql-billing", "--dry-run"],
    ));
    assert!(dry.contains(&format!("would move {mysql_id}")), "{dry}");
    assert_eq!(entries(&stack).len(), 3, "a dry run moves nothing");
    let moved = stdout(&rdslogs(
        &stack,
        &["dlq", "redrive", "--instance", "mysql-billing"],
    ));
    assert!(moved.contains("moved 1 of 1"), "{moved}");
    // THEN only that one left the dead-letter queue, and it ships
    let left = entries(&stack);
    assert_eq!(left.len(), 2);
    assert!(
        left.iter().all(|e| e["instance"] == "pg-orders"),
        "{left:?}"
    );
    let worked = stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    assert!(worked.contains("shipped 1 file, 0 failed"), "{worked}");
    assert_eq!(
        stack
            .object(&stack.key("mysql-billing", MYSQL_FILE))
            .await
            .unwrap(),
        stack.source_bytes("mysql-billing", MYSQL_FILE)
    );
    assert_eq!(
        stack.file_state("mysql-billing", MYSQL_FILE).await.failure,
        None
    );

    // AND one message is redriven by id, then the rest in full
    let moved = json(&rdslogs(
        &stack,
        &["dlq", "redrive", "--id", &pg_id[..8], "--json"],
    ));
    assert_eq!(moved["moved"], serde_json::json!([pg_id]));
    let left = entries(&stack);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["file"], PG_OTHER);
    let moved = stdout(&rdslogs(&stack, &["dlq", "redrive", "--all"]));
    assert!(moved.contains("moved 1 of 1"), "{moved}");
    assert!(entries(&stack).is_empty());
    let worked = stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    assert!(worked.contains("shipped 2 files, 0 failed"), "{worked}");
    for file in [PG_FILE, PG_OTHER] {
        assert_eq!(
            stack.object(&stack.key("pg-orders", file)).await.unwrap(),
            stack.source_bytes("pg-orders", file)
        );
        assert_eq!(stack.file_state("pg-orders", file).await.failure, None);
    }
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
    // (the malformed one fails again: partly done)
    let worked = partly_done(&rdslogs(
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
    let table = stdout(&rdslogs(&stack, &["dlq", "list"]));
    assert!(
        table.contains("nothing dead-lettered: the dead-letter queue is empty"),
        "{table}"
    );
}
