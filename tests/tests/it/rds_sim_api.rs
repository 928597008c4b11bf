//! The simulated RDS answers aws-sdk-rds in the shapes the SDK parses:
//! instances with tags and paging, clusters, tags, log files with filters.

use aws_sdk_rds::types::Filter;
use integration_tests::{
    LocalStack, SECRET_KEY, SESSION_TOKEN, StackOptions, credentials, sdk_config,
};

async fn rds(stack: &LocalStack) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&sdk_config(
        &stack.sim.endpoint_url(),
        credentials(SECRET_KEY, Some(SESSION_TOKEN)),
    ))
}

fn write_fleet(stack: &LocalStack) {
    let fleet = serde_json::json!({"instances": [
        {"id": "aurora-a", "engine": "aurora-postgresql", "cluster": "orders", "tags": {"env": "prod"}},
        {"id": "aurora-b", "engine": "aurora-postgresql", "cluster": "orders"},
        {"id": "my-1", "engine": "mysql", "status": "stopped", "tags": {"env": "dev", "team": "x"}},
        {"id": "pg-1"}, {"id": "pg-2"}, {"id": "pg-3"}
    ]});
    std::fs::write(stack.fleet.path().join("fleet.json"), fleet.to_string()).unwrap();
    for i in 0..9 {
        integration_tests::write_log(
            &stack
                .fleet
                .path()
                .join("pg-1")
                .join(format!("error/postgresql.log.2026-11-20-{i:02}")),
            &vec![b'x'; i * 100],
            1_700_000_000_000 + i as i64 * 1000,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_db_instances_pages_filters_and_carries_tags() {
    let stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        page_size: 4,
        ..StackOptions::default()
    })
    .await;
    write_fleet(&stack);
    let client = rds(&stack).await;
    let pages: Vec<_> = client
        .describe_db_instances()
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    let all: Vec<_> = pages.iter().flat_map(|p| p.db_instances()).collect();
    assert_eq!(all.len(), 6);
    let aurora_a = all
        .iter()
        .find(|i| i.db_instance_identifier() == Some("aurora-a"))
        .unwrap();
    assert_eq!(aurora_a.db_cluster_identifier(), Some("orders"));
    assert_eq!(aurora_a.tag_list()[0].key(), Some("env"));
    let my = all
        .iter()
        .find(|i| i.db_instance_identifier() == Some("my-1"))
        .unwrap();
    assert_eq!(my.db_instance_status(), Some("stopped"));

    let mysql = client
        .describe_db_instances()
        .filters(Filter::builder().name("engine").values("mysql").build())
        .send()
        .await
        .unwrap();
    assert_eq!(mysql.db_instances().len(), 1);

    let clusters = client.describe_db_clusters().send().await.unwrap();
    let members: Vec<_> = clusters.db_clusters()[0]
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier())
        .collect();
    assert_eq!(members, ["aurora-a", "aurora-b"]);

    let tags = client
        .list_tags_for_resource()
        .resource_name(aurora_a.db_instance_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_list()[0].value(), Some("prod"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_db_log_files_pages_and_filters() {
    let stack = LocalStack::start(StackOptions {
        generated_fleet: false,
        page_size: 4,
        ..StackOptions::default()
    })
    .await;
    write_fleet(&stack);
    let client = rds(&stack).await;
    let files = |req: aws_sdk_rds::operation::describe_db_log_files::builders::DescribeDBLogFilesFluentBuilder| async move {
        let pages: Vec<_> = req.into_paginator().send().collect::<Result<Vec<_>, _>>().await.unwrap();
        (pages.len(), pages.iter().flat_map(|p| p.describe_db_log_files().to_vec()).collect::<Vec<_>>())
    };
    let (pages, all) = files(
        client
            .describe_db_log_files()
            .db_instance_identifier("pg-1"),
    )
    .await;
    assert_eq!((pages, all.len()), (3, 9));
    assert_eq!(all[3].size(), Some(300));
    assert_eq!(all[3].last_written(), Some(1_700_000_003_000));
    let (_, recent) = files(
        client
            .describe_db_log_files()
            .db_instance_identifier("pg-1")
            .file_last_written(1_700_000_007_000),
    )
    .await;
    assert_eq!(recent.len(), 2);
    let (_, big) = files(
        client
            .describe_db_log_files()
            .db_instance_identifier("pg-1")
            .file_size(500),
    )
    .await;
    assert_eq!(big.len(), 4);
    let (_, named) = files(
        client
            .describe_db_log_files()
            .db_instance_identifier("pg-1")
            .filename_contains("-20-0"),
    )
    .await;
    assert_eq!(named.len(), 9);

    let stopped = client
        .describe_db_log_files()
        .db_instance_identifier("my-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_rds::error::ProvideErrorMetadata::code(&stopped),
        Some("InvalidDBInstanceState")
    );
    let missing = client
        .describe_db_log_files()
        .db_instance_identifier("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_rds::error::ProvideErrorMetadata::code(&missing),
        Some("DBInstanceNotFound")
    );
}

/// A GET of `path` on the simulator, signed as the SDK signs for `rds`, sent
/// over a raw connection; the whole HTTP answer.
fn signed_get(stack: &LocalStack, path: &str) -> String {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use std::io::{Read, Write};
    let identity = credentials(SECRET_KEY, Some(SESSION_TOKEN)).into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(integration_tests::REGION)
        .name("rds")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{}{path}", stack.sim.addr);
    let signable =
        SignableRequest::new("GET", &uri, std::iter::empty(), SignableBody::Bytes(&[])).unwrap();
    let mut request = http::Request::builder().uri(&uri).body(()).unwrap();
    sign(signable, &params)
        .unwrap()
        .into_parts()
        .0
        .apply_to_request_http1x(&mut request);
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        stack.sim.addr
    );
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(stack.sim.addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retired_v13_download_path_is_refused_and_v19_serves_the_file() {
    // GIVEN a fleet file the current path serves
    let stack = LocalStack::start(StackOptions::default()).await;
    let (instance, file) = stack.source_files().into_iter().next().unwrap();
    let path =
        |version: &str| shipper::rds::download_url("", &instance, &file).replace("/v19/", version);
    // WHEN the same signed request uses the path RDS retires on 2027-03-01
    let retired = signed_get(&stack, &path("/v13/"));
    // THEN it is a 4xx naming the retired path, the way RDS will answer
    assert!(retired.starts_with("HTTP/1.1 400"), "{retired}");
    assert!(retired.contains("InvalidAction"), "{retired}");
    assert!(
        retired.contains("/v13/downloadCompleteLogFile/"),
        "{retired}"
    );
    assert!(retired.contains("use /v19/"), "{retired}");
    let current = signed_get(&stack, &path("/v19/"));
    assert!(current.starts_with("HTTP/1.1 200"), "{current}");
}
