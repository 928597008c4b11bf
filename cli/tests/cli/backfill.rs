//! `rdslogs backfill` on the local stack: the window's edges on
//! last-written time, state ignored, a dry run, and an empty window.

use integration_tests::{LocalStack, StackOptions, write_log};
use std::process::Output;

use serde_json::Value;
use shipper::state::FileStates;

use crate::{assert_exit, json, rdslogs, stdout};

/// 2026-11-20T10:00:00Z and 12:00:00Z.
const SINCE_MS: i64 = 1_795_168_800_000;
const UNTIL_MS: i64 = 1_795_176_000_000;
const SINCE: &str = "2026-11-20T10:00:00Z";
const UNTIL: &str = "2026-11-20T12:00:00Z";
const INSTANCE: &str = "pg-history";

/// `rdslogs backfill --instance pg-history` with more arguments.
fn backfill(stack: &LocalStack, more: &[&str]) -> Output {
    let args = [&["backfill", "--instance", INSTANCE][..], more].concat();
    rdslogs(stack, &args)
}

fn enqueued(report: &Value) -> Vec<String> {
    report["report"]["enqueued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_enqueues_exactly_the_window_whatever_the_state() {
    // GIVEN log files written just before, at, inside, just before the end
    // of, and at the end of the window
    let stack = LocalStack::start(StackOptions::default()).await;
    let files = [
        ("error/before.log", SINCE_MS - 1),
        ("error/at-since.log", SINCE_MS),
        ("error/inside.log", SINCE_MS + 3_600_000),
        ("error/last-ms.log", UNTIL_MS - 1),
        ("error/at-until.log", UNTIL_MS),
    ];
    for (file, mtime) in files {
        write_log(
            &stack.source_path(INSTANCE, file),
            format!("{file}\n").as_bytes(),
            mtime,
        );
    }
    // AND one of them shipped already
    let worker = stack.clients.worker(&stack.worker_config);
    worker
        .handle_message(&stack.ship_request(INSTANCE, "error/inside.log"))
        .await
        .unwrap();

    // WHEN a dry run, then the backfill, run over [since, until)
    let window = ["--since", SINCE, "--until", UNTIL];
    let dry = stdout(&backfill(&stack, &[&window[..], &["--dry-run"]].concat()));
    assert!(dry.contains("would enqueue 3 of 3"), "{dry}");
    assert!(stack.queue_bodies(stack.queue_url()).await.is_empty());
    let report = json(&backfill(&stack, &[&window[..], &["--json"]].concat()));

    // THEN since is inside, until is not, and the shipped file is enqueued too
    assert_eq!(
        enqueued(&report),
        [
            "error/at-since.log",
            "error/inside.log",
            "error/last-ms.log"
        ]
    );
    let mut bodies = stack.queue_bodies(stack.queue_url()).await;
    bodies.sort();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(bodies[0].contains("at-since.log") && bodies[0].contains(&SINCE_MS.to_string()));
    let recorded = stack.file_state(INSTANCE, "error/last-ms.log").await;
    assert_eq!(recorded.enqueued.unwrap().0.last_written_ms, UNTIL_MS - 1);
    // AND the worker ships the new ones and skips the one already shipped
    let worked = stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    assert!(worked.contains("shipped 2 files"), "{worked}");
    assert_eq!(
        stack
            .object(&stack.key(INSTANCE, "error/at-since.log"))
            .await
            .unwrap(),
        b"error/at-since.log\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_backwards_window_enqueues_nothing() {
    let stack = LocalStack::start(StackOptions::default()).await;
    write_log(
        &stack.source_path(INSTANCE, "error/old.log"),
        b"old\n",
        SINCE_MS - 3_600_000,
    );
    // Nothing written in the window: nothing matched.
    let out = backfill(&stack, &["--since", SINCE, "--until", UNTIL]);
    assert_exit(&out, 3);
    assert!(stack.queue_bodies(stack.queue_url()).await.is_empty());
    // A window that ends before it starts is refused.
    let out = backfill(&stack, &["--since", UNTIL, "--until", SINCE]);
    assert_exit(&out, 2);
    // A work queue that cannot take them: the command fails, nothing is recorded.
    let no_queue = format!("{}/123456789012/no-such-queue", stack.moto_url);
    let out = backfill(&stack, &["--since", "3000d ago", "--queue-url", &no_queue]);
    assert_exit(&out, 1);
    assert!(
        stack
            .state_table()
            .get(INSTANCE, "error/old.log")
            .await
            .unwrap()
            .is_none()
    );
    // Relative times work, and a bad time is a usage error naming the forms.
    let out = backfill(&stack, &["--since", "3000d ago"]);
    assert_exit(&out, 0);
    let out = backfill(&stack, &["--since", "yesterday-ish"]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}
