//! Over HTTP: a rotation through `/_sim/rotate` leaves the renamed files out
//! of a `DescribeDBLogFiles` since the rotation, a rewrite changes bytes and
//! size, and a switchover changes `DbiResourceId` but not the file names.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{ADMIN_KEY, ADMIN_SECRET, call, control, start_sim};
use rds_sim::generate::{GenerateOptions, MYSQL_INSTANCE, generate};
use rds_sim::{Iam, RunningSim};
use serde_json::json;

const AUDIT: &str = "audit/server_audit.log";
const HOUR: i64 = 3_600_000;

async fn sim(fleet: &std::path::Path) -> RunningSim {
    start_sim(fleet, Iam::default()).await
}

async fn query(sim: &RunningSim, params: &str) -> String {
    let body = format!("Version=2014-10-31&{params}");
    let (status, answer) = call(sim, ADMIN_KEY, ADMIN_SECRET, "POST", "/", &body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Every `<tag>` value in an answer, in order.
fn values(answer: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    answer
        .split(&open)
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_owned())
        .collect()
}

fn log_files(answer: &str) -> Vec<(String, i64)> {
    let names = values(answer, "LogFileName");
    let times = values(answer, "LastWritten");
    names
        .into_iter()
        .zip(times.iter().map(|t| t.parse().unwrap()))
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn renamed_files_keep_their_time_and_drop_out_of_a_listing_since_the_rotation() {
    // GIVEN the audit log of the MySQL instance, last written an hour ago
    let fleet = tempfile::tempdir().unwrap();
    generate(fleet.path(), &GenerateOptions::default()).unwrap();
    let sim = sim(fleet.path()).await;
    let hour_ago = now_ms() - HOUR;
    let (status, answer) = control(
        &sim,
        "/_sim/rewrite",
        &json!({"instance": MYSQL_INSTANCE, "file": AUDIT, "contents": "gen0\n",
                "last_written_ms": hour_ago}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // WHEN it rotates over HTTP, then once more in process, with a cap of 2
    // (a second of slack: file times come from a coarser clock than ours)
    let rotated_at = now_ms() - 1_000;
    let (status, answer) = control(
        &sim,
        "/_sim/rotate",
        &json!({"instance": MYSQL_INSTANCE, "file": AUDIT, "keep": 2, "contents": "gen1\n"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let rotated = sim
        .fleet()
        .rotate(MYSQL_INSTANCE, AUDIT, 2, b"gen2\n")
        .unwrap();
    assert_eq!(rotated.dropped, None);

    // THEN a listing since the rotation names only the files written since
    // (the current one, and `.1` which the second rotation renamed) ...
    let describe = format!(
        "Action=DescribeDBLogFiles&DBInstanceIdentifier={MYSQL_INSTANCE}&FilenameContains=audit"
    );
    let since = query(&sim, &format!("{describe}&FileLastWritten={rotated_at}")).await;
    let names: Vec<String> = log_files(&since).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, [AUDIT.to_owned(), format!("{AUDIT}.1")]);
    // ... because `.2`, renamed twice, still says it was written an hour ago
    let all = log_files(&query(&sim, &describe).await);
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], (format!("{AUDIT}.2"), hour_ago));
    let gen0 = std::fs::read(fleet.path().join(MYSQL_INSTANCE).join(format!("{AUDIT}.2")));
    assert_eq!(gen0.unwrap(), b"gen0\n");
}

#[tokio::test]
async fn a_rewrite_changes_bytes_and_size_under_the_same_name() {
    let fleet = tempfile::tempdir().unwrap();
    generate(fleet.path(), &GenerateOptions::default()).unwrap();
    let sim = sim(fleet.path()).await;
    let name = "slowquery/mysql-slowquery.log.3";
    let describe = format!(
        "Action=DescribeDBLogFiles&DBInstanceIdentifier={MYSQL_INSTANCE}&FilenameContains={name}"
    );
    let before = values(&query(&sim, &describe).await, "Size");

    let next_day = now_ms() + 24 * HOUR;
    let (status, answer) = control(
        &sim,
        "/_sim/rewrite",
        &json!({"instance": MYSQL_INSTANCE, "file": name, "contents": "# Time: next day\n",
                "last_written_ms": next_day}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let after = query(&sim, &describe).await;
    assert_ne!(values(&after, "Size"), before);
    assert_eq!(values(&after, "Size"), ["17"]);
    assert_eq!(log_files(&after), [(name.to_owned(), next_day)]);
    let (status, _) = control(
        &sim,
        "/_sim/rewrite",
        &json!({"instance": MYSQL_INSTANCE, "file": "no-such.log"}),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_switchover_changes_the_dbi_resource_id_and_keeps_the_file_names() {
    // GIVEN the MySQL instance and its resource id, the same on every call
    let fleet = tempfile::tempdir().unwrap();
    generate(fleet.path(), &GenerateOptions::default()).unwrap();
    let sim = sim(fleet.path()).await;
    let describe_instance =
        format!("Action=DescribeDBInstances&DBInstanceIdentifier={MYSQL_INSTANCE}");
    let blue = values(&query(&sim, &describe_instance).await, "DbiResourceId");
    assert_eq!(blue.len(), 1);
    assert!(
        blue[0].starts_with("db-") && blue[0].len() == 29,
        "{blue:?}"
    );
    assert_eq!(
        values(&query(&sim, &describe_instance).await, "DbiResourceId"),
        blue
    );
    let describe_files = format!("Action=DescribeDBLogFiles&DBInstanceIdentifier={MYSQL_INSTANCE}");
    let blue_files = log_files(&query(&sim, &describe_files).await);

    // WHEN it switches over to a new instance whose files have the same
    // names and were last written earlier
    let files: Vec<_> = blue_files
        .iter()
        .map(
            |(name, ms)| json!({"name": name, "contents": "green\n", "last_written_ms": ms - HOUR}),
        )
        .collect();
    let (status, answer) = control(
        &sim,
        "/_sim/switchover",
        &json!({"instance": MYSQL_INSTANCE, "files": files}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // THEN DescribeDBInstances answers a new resource id, also after a
    // restart, and the file names are the same
    let green = values(&query(&sim, &describe_instance).await, "DbiResourceId");
    assert_ne!(green, blue);
    assert!(answer.contains(&green[0]), "{answer}");
    drop(sim);
    let restarted = self::sim(fleet.path()).await;
    assert_eq!(
        values(
            &query(&restarted, &describe_instance).await,
            "DbiResourceId"
        ),
        green
    );
    let green_files = log_files(&query(&restarted, &describe_files).await);
    let names = |files: &[(String, i64)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&green_files), names(&blue_files));
    assert!(
        green_files
            .iter()
            .zip(&blue_files)
            .all(|(g, b)| g.1 == b.1 - HOUR)
    );
}
