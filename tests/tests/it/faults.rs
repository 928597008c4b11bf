//! Reliability under the simulated RDS's injected faults: cut streams,
//! 5xx and throttling, vanished and growing files, dead letters, clock skew.

use integration_tests::{LocalStack, StackOptions, set_mtime};
use rds_sim::{Fault, FaultRule, FaultTarget};
use shipper::worker::SyncOutcome;

const BIG: &str = "error/postgresql.log.2026-11-21-10";
const SMALL: &str = "error/postgresql.log.2026-11-20-13";

fn on_download(file: &str, fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        target: FaultTarget::Download {
            instance: None,
            file: Some(file.into()),
        },
        fault,
        times,
    }
}

async fn stack_with_big_file() -> LocalStack {
    let stack = LocalStack::start(StackOptions::default()).await;
    // Seven MiB: two parts of 5 MiB and 2 MiB.
    let path = stack.source_path("pg-orders", BIG);
    rds_sim::generate::write_large_log(&path, 7 * 1024 * 1024).unwrap();
    set_mtime(&path, 1_763_700_000_000);
    stack
}

async fn cut_stream_is_never_completed_and_the_next_delivery_ships(content_length: bool) {
    let stack = stack_with_big_file().await;
    stack.sim.faults.set_content_length(content_length);
    let worker = stack.clients.worker(&stack.worker_config);
    for (file, cut_at) in [(BIG, 6 * 1024 * 1024), (SMALL, 1000)] {
        stack
            .sim
            .faults
            .add(on_download(file, Fault::CutAfter { bytes: cut_at }, None));
        let body = stack.ship_request("pg-orders", file);
        // WHEN the body is cut mid-way
        let err = worker.handle_message(&body).await.unwrap_err();
        // THEN the record fails, nothing is stored and no upload is left open
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("failed to download"), "{err}");
        assert_eq!(stack.object(&stack.key("pg-orders", file)).await, None);
        assert_eq!(stack.open_multipart_uploads().await, 0);
        // AND once the connection behaves, the next delivery ships the file
        stack.sim.faults.clear();
        let outcome = worker.handle_message(&body).await.unwrap();
        assert!(
            matches!(outcome, SyncOutcome::Shipped { .. }),
            "{outcome:?}"
        );
        assert_eq!(
            stack.object(&stack.key("pg-orders", file)).await.unwrap(),
            stack.source_bytes("pg-orders", file)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_stream_cut_mid_body_is_aborted_then_shipped_on_redelivery() {
    cut_stream_is_never_completed_and_the_next_delivery_ships(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_stream_cut_mid_body_is_aborted_then_shipped_on_redelivery() {
    cut_stream_is_never_completed_and_the_next_delivery_ships(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_throttling_in_a_row_are_retried_with_backoff_within_the_attempt() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let worker = stack.clients.worker(&stack.worker_config);
    let internal = Fault::Error {
        status: 500,
        code: "InternalFailure".into(),
        message: "boom".into(),
    };
    stack.sim.faults.add(on_download(SMALL, internal, Some(2)));
    stack
        .sim
        .faults
        .add(on_download(SMALL, Fault::Throttle, Some(1)));
    let outcome = worker
        .handle_message(&stack.ship_request("pg-orders", SMALL))
        .await
        .unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Shipped { .. }),
        "{outcome:?}"
    );
    assert_eq!(stack.sim.faults.counters()["Download"], 4);

    // Throttled without end: the attempt gives up after its bounded retries
    // (no retry storm) and leaves the record to SQS redelivery.
    let other = "error/mysql-error.log";
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Download {
            instance: Some("mysql-billing".into()),
            file: Some(other.into()),
        },
        fault: Fault::Throttle,
        times: None,
    });
    let before = stack.sim.faults.counters()["Download"];
    let err = worker
        .handle_message(&stack.ship_request("mysql-billing", other))
        .await
        .unwrap_err();
    assert!(err.is_transient());
    assert!(err.to_string().contains("Throttling"), "{err}");
    assert_eq!(stack.sim.faults.counters()["Download"] - before, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_vanished_is_recorded_as_gone_and_not_retried() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let report = stack.list_once().await;
    // GIVEN files that disappear between listing and download
    stack
        .sim
        .faults
        .add(on_download(SMALL, Fault::Vanish, None));
    std::fs::remove_file(stack.source_path("mysql-billing", "error/mysql-error.log")).unwrap();
    let results = stack.drain().await;
    // THEN both end as Gone on their first delivery, the rest ship
    let gone: Vec<_> = results
        .iter()
        .filter(|r| matches!(r.result, Ok(SyncOutcome::Gone { .. })))
        .map(|r| r.version.clone().unwrap().file)
        .collect();
    assert_eq!(gone.len(), 2, "{results:?}");
    assert_eq!(
        results.len(),
        report.enqueued(),
        "every record handled exactly once"
    );
    assert!(stack.queue_bodies(&stack.dlq_url).await.is_empty());
    let failure = stack.file_state("pg-orders", SMALL).await.failure.unwrap();
    assert!(failure.permanent);
    assert_eq!(failure.reason, "log_file_gone");
    assert!(
        failure.last_error.contains("DBLogFileNotFoundFault"),
        "{}",
        failure.last_error
    );

    // An instance RDS does not know is gone too.
    let body = stack
        .ship_request("pg-orders", SMALL)
        .replace("pg-orders", "deleted-db");
    let outcome = stack
        .clients
        .worker(&stack.worker_config)
        .handle_message(&body)
        .await
        .unwrap();
    assert!(
        matches!(outcome, SyncOutcome::Gone { ref reason } if reason.contains("DBInstanceNotFound")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_grows_while_read_ships_a_consistent_prefix_then_the_rest() {
    let stack = stack_with_big_file().await;
    let worker = stack.clients.worker(&stack.worker_config);
    stack.sim.faults.add(on_download(
        BIG,
        Fault::GrowWhileRead { bytes: 100_000 },
        Some(1),
    ));
    let listed = std::fs::read(stack.source_path("pg-orders", BIG)).unwrap();
    let outcome = worker
        .handle_message(&stack.ship_request("pg-orders", BIG))
        .await
        .unwrap();
    let SyncOutcome::Shipped { bytes, .. } = outcome else {
        panic!("not shipped: {outcome:?}")
    };
    let grown = stack.source_bytes("pg-orders", BIG);
    assert_eq!(grown.len(), listed.len() + 100_000);
    let object = stack.object(&stack.key("pg-orders", BIG)).await.unwrap();
    // What S3 holds is a prefix of the file, at least what was listed.
    assert!(object.len() >= listed.len());
    assert!(
        grown.starts_with(&object),
        "S3 holds bytes that are not a prefix of the file"
    );
    // The state records exactly what S3 holds.
    let shipped = stack.file_state("pg-orders", BIG).await.shipped.unwrap();
    assert_eq!(shipped.version.size, object.len() as u64);
    assert_eq!(bytes, object.len() as u64);
    // The next cycle ships the grown file in full.
    let mut stack = stack;
    stack.lister_config.selection.instances = vec!["pg-orders".into()];
    stack.list_once().await;
    stack.drain().await;
    assert_eq!(
        stack.object(&stack.key("pg-orders", BIG)).await.unwrap(),
        grown
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_keeps_failing_lands_in_the_dead_letter_queue_with_its_record() {
    let stack = LocalStack::start(StackOptions {
        max_receive_count: 3,
        ..StackOptions::default()
    })
    .await;
    let broken = Fault::Error {
        status: 503,
        code: "ServiceUnavailable".into(),
        message: "try later".into(),
    };
    stack.sim.faults.add(on_download(SMALL, broken, None));
    let report = stack.list_once().await;
    let results = stack.drain().await;
    assert_eq!(results.iter().filter(|r| r.result.is_err()).count(), 3);
    assert_eq!(
        results.iter().filter(|r| r.result.is_ok()).count(),
        report.enqueued() - 1
    );
    let dead = stack.queue_bodies(&stack.dlq_url).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].contains(SMALL));
    let failure = stack.file_state("pg-orders", SMALL).await.failure.unwrap();
    assert_eq!(failure.attempts, 3);
    assert!(!failure.permanent);
    assert!(
        failure.last_error.contains("ServiceUnavailable"),
        "{}",
        failure.last_error
    );
    assert!(failure.first_failed_ms > 0 && failure.first_failed_ms <= failure.last_failed_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_succeed_when_the_local_clock_is_skewed() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let worker = stack.clients.worker(&stack.worker_config);
    for (offset, file) in [
        (20 * 60, SMALL),
        (-20 * 60, "error/postgresql.log.2026-11-20-12"),
    ] {
        stack.sim.faults.set_clock_offset_secs(offset);
        let outcome = worker
            .handle_message(&stack.ship_request("pg-orders", file))
            .await
            .unwrap();
        assert!(
            matches!(outcome, SyncOutcome::Shipped { .. }),
            "{offset}: {outcome:?}"
        );
    }
    // One rejection per change of clock, then signed with the server's time.
    assert_eq!(stack.sim.faults.counters()["Rejected"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_cut_after_the_idle_timeout_saying_how_far_it_got() {
    use futures_util::StreamExt;
    use shipper::rds::LogSource;
    let stack = LocalStack::start(StackOptions::default()).await;
    // GIVEN RDS that sends 100 bytes, then nothing, the connection open
    stack.sim.faults.add(on_download(
        SMALL,
        Fault::StallAfter { bytes: 100 },
        Some(1),
    ));
    let source = stack
        .clients
        .log_source
        .clone()
        .with_idle_timeout(std::time::Duration::from_secs(1));
    // WHEN the file is read
    let mut stream = source.open(None, "pg-orders", SMALL).await.unwrap();
    let mut received = 0;
    let error = loop {
        match stream.next().await {
            Some(Ok(bytes)) => received += bytes.len(),
            Some(Err(e)) => break e,
            None => panic!("the stalled body ended without an error"),
        }
    };
    // THEN the stream ends with a transient error after the idle time
    assert_eq!(received, 100);
    assert!(error.is_transient(), "{error}");
    assert!(
        error
            .to_string()
            .contains("transfer failed after 100 bytes: no bytes for 1 s"),
        "{error}"
    );
}
