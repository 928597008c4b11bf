//! Over HTTP, an identity held to a policy gets what the policy allows and
//! RDS's 403 `AccessDenied` for the rest, on the Query API and the download.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use rds_sim::generate::{GenerateOptions, generate};
use rds_sim::{AcceptedCredentials, Iam, Identity, Policy, RunningSim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    rds_sim::start(SimConfig {
        root: fleet.to_path_buf(),
        credentials: AcceptedCredentials {
            access_key_id: "AKIDADMIN".into(),
            secret_access_key: "admin-secret".into(),
            session_token: None,
        },
        iam: Iam {
            identities: vec![lister],
            ..Iam::default()
        },
        page_size: 100,
        listen: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap()
}

/// Sends one request signed as `key`/`secret`; returns status and body.
async fn call(
    sim: &RunningSim,
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let host = sim.addr.to_string();
    let uri = format!("http://{host}{path}");
    let content_type = "application/x-www-form-urlencoded";
    let headers = [("content-type", content_type)];
    let signable = SignableRequest::new(
        method,
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let identity = Credentials::new(key, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("rds")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut request = http::Request::builder().uri(&uri).body(()).unwrap();
    sign(signable, &params)
        .unwrap()
        .into_parts()
        .0
        .apply_to_request_http1x(&mut request);
    let mut raw =
        format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n");
    for (name, value) in request.headers() {
        raw.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    raw.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    let mut stream = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
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
    let (status, body) = call(&sim, "AKIDADMIN", "admin-secret", "GET", &path, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.faults.counters().get("Denied"), Some(&1));
    std::fs::remove_dir_all(fleet).unwrap();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rds-sim-authz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
