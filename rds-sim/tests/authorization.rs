//! Over HTTP, an identity held to a policy gets what the policy allows and
//! RDS's 403 `AccessDenied` for the rest, on the Query API and the download.

mod common;

use common::{ADMIN_KEY, ADMIN_SECRET, call, start_sim};
use rds_sim::generate::{GenerateOptions, generate};
use rds_sim::{AcceptedCredentials, Iam, Identity, Policy, RunningSim};

const LISTER_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["rds:DescribeDBInstances", "rds:DescribeDBLogFiles"],
     "Resource": "arn:aws:rds:*:123456789012:db:pg-*"}]}"#;

async fn sim(fleet: &std::path::Path) -> RunningSim {
    generate(fleet, &GenerateOptions::default()).unwrap();
    let lister = Identity {
        name: "lister".into(),
        credentials: AcceptedCredentials {
            access_key_id: "AKIDLISTER".into(),
            secret_access_key: "lister-secret".into(),
            session_token: None,
        },
        policy: Some(Policy::from_json(LISTER_POLICY).unwrap()),
    };
    start_sim(
        fleet,
        Iam {
            identities: vec![lister],
            ..Iam::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_policy_allows_its_actions_on_its_resources_only() {
    let fleet = tempfile_dir("allowed");
    let sim = sim(&fleet).await;
    let describe = "Action=DescribeDBLogFiles&Version=2014-10-31&DBInstanceIdentifier=";

    let (status, body) = call(
        &sim,
        "AKIDLISTER",
        "lister-secret",
        "POST",
        "/",
        &format!("{describe}pg-orders"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = call(
        &sim,
        "AKIDLISTER",
        "lister-secret",
        "POST",
        "/",
        &format!("{describe}mysql-billing"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains(
            "User: arn:aws:iam::123456789012:user/lister is not authorized to perform: rds:DescribeDBLogFiles \
             on resource: arn:aws:rds:eu-west-1:123456789012:db:mysql-billing because no identity-based \
             policy allows the rds:DescribeDBLogFiles action"
        ),
        "{body}"
    );
    std::fs::remove_dir_all(fleet).unwrap();
}

#[tokio::test]
async fn the_download_needs_download_complete_db_log_file() {
    let fleet = tempfile_dir("download");
    let sim = sim(&fleet).await;
    let path = format!(
        "{}pg-orders/error/postgresql.log.2026-11-20-13",
        rds_sim::DOWNLOAD_PATH_PREFIX
    );

    let (status, body) = call(&sim, "AKIDLISTER", "lister-secret", "GET", &path, "").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("rds:DownloadCompleteDBLogFile on resource: arn:aws:rds:eu-west-1:123456789012:db:pg-orders"), "{body}");

    // The unrestricted identity downloads, and nothing else was refused.
    let (status, body) = call(&sim, ADMIN_KEY, ADMIN_SECRET, "GET", &path, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.faults.counters().get("Denied"), Some(&1));
    std::fs::remove_dir_all(fleet).unwrap();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rds-sim-authz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
