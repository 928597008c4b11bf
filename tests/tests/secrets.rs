//! What reaches the logs: never a credential, session token or signature;
//! each file's outcome as JSON in a span naming its instance and file.
//!
//! A test binary of its own: beside other tests' threads, a log callsite
//! they met first while this test's thread-local subscriber was being set
//! up could stay cached as "never logged", and the test saw no outcome
//! lines (twice in full runs).

// The SDK upload futures nest deeply; their layout needs more than the
// default query depth.
#![recursion_limit = "256"]

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::{LocalStack, SECRET_KEY, SESSION_TOKEN, StackOptions};
use rds_sim::{Fault, FaultRule, FaultTarget};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread, so the capturing subscriber sees every task, spawned ones too.
#[tokio::test(flavor = "current_thread")]
async fn logs_of_a_full_run_hold_no_secret_token_or_signature() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // GIVEN a run with a session token, including failures that log errors
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Download {
            instance: None,
            file: None,
        },
        fault: Fault::Error {
            status: 500,
            code: "InternalFailure".into(),
            message: "boom".into(),
        },
        times: Some(2),
    });
    stack.sim.faults.set_clock_offset_secs(20 * 60);
    let report = stack.list_once().await;
    assert!(report.enqueued() > 0);
    let results = stack.drain().await;
    assert!(results.iter().all(|r| r.result.is_ok()));

    // THEN the logs say what happened and nothing secret
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("enqueued") && logs.contains("retrying") && logs.contains("clock skew"),
        "logs too thin"
    );
    for secret in [
        SECRET_KEY,
        SESSION_TOKEN,
        "Signature=",
        "X-Amz-Signature",
        "x-amz-security-token: ",
    ] {
        assert!(!logs.contains(secret), "logs contain {secret:?}");
    }
    assert!(
        !logs.to_lowercase().contains("authorization: aws4"),
        "logs contain an Authorization header"
    );
    // AND each file's outcome is logged as JSON inside its own span, which
    // carries the instance and the file (what CloudWatch Logs Insights
    // queries by)
    let done: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "done")
        .collect();
    assert_eq!(done.len(), results.len());
    for line in &done {
        let span = &line["span"];
        assert_eq!(span["name"], "message", "{line}");
        assert!(
            span["instance"].as_str().is_some_and(|s| !s.is_empty()),
            "{line}"
        );
        assert!(
            span["file"].as_str().is_some_and(|s| !s.is_empty()),
            "{line}"
        );
    }
}
