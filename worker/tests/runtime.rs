//! The worker binary under a Lambda runtime API that sends a real deadline
//! (cargo lambda's sends none, see docs/aws-fidelity.md): records shipped at
//! once, a download cut before the deadline with its upload aborted, and a
//! record not started when too little time is left.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use integration_tests::{LocalStack, StackOptions};
use rds_sim::generate::POSTGRES_INSTANCE;
use rds_sim::{Fault, FaultRule, FaultTarget};
use serde_json::{Value, json};
use shipper::state::FileStates;

const SMALL: &str = "error/postgresql.log.2026-11-20-12";
const OTHER: &str = "error/postgresql.log.2026-11-20-14";
const STALLED: &str = "error/stalled.log";

/// One invocation: the event is handed out once, the answer kept.
#[derive(Clone)]
struct Runtime {
    event: Arc<Mutex<Option<(String, u64)>>>,
    answer: Arc<tokio::sync::Notify>,
    answered: Arc<Mutex<Option<(String, Value)>>>,
}

async fn next(State(rt): State<Runtime>) -> (HeaderMap, String) {
    let Some((event, deadline_ms)) = rt.event.lock().unwrap().take() else {
        // Later polls wait as Lambda's do between invocations.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "req-1".parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline_ms.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:worker"
            .parse()
            .unwrap(),
    );
    (headers, event)
}

async fn answer(State(rt): State<Runtime>, kind: &str, body: String) {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    *rt.answered.lock().unwrap() = Some((kind.to_owned(), value));
    rt.answer.notify_one();
}

/// Runs the worker binary on one SQS batch of `files` with `seconds` until
/// its deadline; returns its answer ("response" or "error") and body.
async fn invoke(
    stack: &LocalStack,
    files: &[&str],
    seconds: u64,
    env: &[(&str, &str)],
) -> (String, Value) {
    let records: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "messageId": f,
                "receiptHandle": "r",
                "body": stack.ship_request(POSTGRES_INSTANCE, f),
                "eventSource": "aws:sqs",
                "attributes": {},
                "messageAttributes": {},
            })
        })
        .collect();
    let deadline = shipper::now_ms() as u64 + seconds * 1000;
    let rt = Runtime {
        event: Arc::new(Mutex::new(Some((
            json!({ "Records": records }).to_string(),
            deadline,
        )))),
        answer: Arc::default(),
        answered: Arc::default(),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(|s: State<Runtime>, b: String| answer(s, "response", b)),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(|s: State<Runtime>, b: String| answer(s, "error", b)),
        )
        .route(
            "/2018-06-01/runtime/init/error",
            post(|s: State<Runtime>, b: String| answer(s, "init error", b)),
        )
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_worker"))
        .envs(stack.binary_env())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "worker")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the worker binary");
    let waited =
        tokio::time::timeout(Duration::from_secs(seconds + 30), rt.answer.notified()).await;
    let _ = child.kill();
    let _ = child.wait();
    waited.expect("the worker answered");
    rt.answered.lock().unwrap().take().unwrap()
}

fn failed_ids(answer: &(String, Value)) -> Vec<String> {
    assert_eq!(answer.0, "response", "{answer:?}");
    answer.1["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

/// A stack whose `STALLED` file (7 MiB, two parts) stops after 6 MiB.
async fn stack_with_a_stalling_file() -> LocalStack {
    let stack = LocalStack::start(StackOptions::default()).await;
    rds_sim::generate::write_large_log(&stack.source_path(POSTGRES_INSTANCE, STALLED), 7 << 20)
        .unwrap();
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Download {
            instance: Some(POSTGRES_INSTANCE.into()),
            file: Some(STALLED.into()),
        },
        fault: Fault::StallAfter { bytes: 6 << 20 },
        times: None,
    });
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_its_deadline_the_worker_cuts_a_download_and_starts_no_record() {
    // GIVEN one record at a time, 4 s a record needs, 10 s until the deadline
    let stack = stack_with_a_stalling_file().await;
    let env = [
        ("RDSLOGS_WORKER_CONCURRENCY", "1"),
        ("RDSLOGS_MIN_RECORD_SECS", "4"),
    ];
    // WHEN a batch holds a small file, the stalling one, and another
    let answer = invoke(&stack, &[SMALL, STALLED, OTHER], 10, &env).await;
    // THEN the stalled download was cut and the last record never started
    assert_eq!(failed_ids(&answer), [STALLED, OTHER]);
    let state = stack.state_table();
    let stalled = state
        .get(POSTGRES_INSTANCE, STALLED)
        .await
        .unwrap()
        .unwrap();
    let failure = stalled.failure.unwrap();
    assert_eq!(failure.reason, "timed_out");
    assert!(
        failure.last_error.contains("raise the worker's timeout"),
        "{}",
        failure.last_error
    );
    // AND its multipart upload was aborted, and nothing counts against OTHER
    assert_eq!(stack.open_multipart_uploads().await, 0);
    assert_eq!(state.get(POSTGRES_INSTANCE, OTHER).await.unwrap(), None);
    let small = stack.key(POSTGRES_INSTANCE, SMALL);
    assert!(stack.object(&small).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_ships_a_batchs_records_at_once() {
    // GIVEN the default concurrency and the same batch
    let stack = stack_with_a_stalling_file().await;
    let env = [("RDSLOGS_MIN_RECORD_SECS", "4")];
    let answer = invoke(&stack, &[STALLED, SMALL, OTHER], 10, &env).await;
    // THEN the files after the stalled one shipped beside it, not after it
    assert_eq!(failed_ids(&answer), [STALLED]);
    for file in [SMALL, OTHER] {
        let key = stack.key(POSTGRES_INSTANCE, file);
        assert!(stack.object(&key).await.is_some(), "{file}");
    }
    assert_eq!(stack.open_multipart_uploads().await, 0);
}
