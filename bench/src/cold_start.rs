//! `ship-bench --cold-start BINARY`: how long a Lambda binary takes from
//! process start to ready, that is to its first request for an invocation
//! from the runtime API (a stand-in served here, as Lambda's). The lister
//! and worker build their clients and settings before that request, so the
//! figure is their whole initialisation, without the network (static
//! credentials, no call made).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tokio::sync::Notify;

/// The first `/next` request's arrival, for the run in progress.
#[derive(Clone, Default)]
struct Ready {
    at: Arc<Mutex<Option<Instant>>>,
    notify: Arc<Notify>,
}

async fn next(State(ready): State<Ready>) -> String {
    ready
        .at
        .lock()
        .expect("ready lock")
        .get_or_insert_with(Instant::now);
    ready.notify.notify_one();
    // No invocation comes: the process is killed once it has asked.
    std::future::pending::<()>().await;
    String::new()
}

/// Starts `binary` `runs` times and prints the time to its first request.
pub async fn run(binary: &Path, runs: u32) -> anyhow::Result<()> {
    let ready = Ready::default();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .with_state(ready.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let size_mib = std::fs::metadata(binary)
        .with_context(|| format!("no binary at {}", binary.display()))?
        .len() as f64
        / crate::MIB as f64;
    let mut times = Vec::new();
    for _ in 0..runs {
        *ready.at.lock().expect("ready lock") = None;
        let started = Instant::now();
        let mut child = Command::new(binary)
            .env_clear()
            .envs(lambda_env(&api.to_string()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let asked = tokio::time::timeout(Duration::from_secs(10), ready.notify.notified()).await;
        let _ = child.kill();
        let _ = child.wait();
        let Some(at) = *ready.at.lock().expect("ready lock") else {
            bail!(
                "{} never asked for an invocation ({asked:?})",
                binary.display()
            );
        };
        times.push(at.duration_since(started).as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}: {size_mib:.1} MiB; process start to ready over {runs} runs: median {:.1} ms, \
         min {:.1} ms, max {:.1} ms",
        binary.display(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    Ok(())
}

/// What Lambda sets for a function, and the settings both functions need.
fn lambda_env(api: &str) -> Vec<(&'static str, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", api),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_REGION", crate::REGION),
        ("AWS_ACCESS_KEY_ID", crate::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", crate::SECRET_KEY),
        ("AWS_SESSION_TOKEN", "token"),
        ("RDSLOGS_INSTANCES", "db-1"),
        ("RDSLOGS_BUCKET", "bench-logs"),
        ("RDSLOGS_STATE_TABLE", "bench-state"),
        (
            "RDSLOGS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}
