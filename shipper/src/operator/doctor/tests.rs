//! Unit tests of the checklist over an in-memory account and fleet.

use super::memory::{
    ACCOUNT, BUCKET, DLQ_URL, MemoryAccount, MemoryFleet, MemorySource, QUEUE_URL, STACK, TABLE,
    denied,
};
use super::needs::queue_arn;
use super::storage::probe_key;
use super::*;
use crate::config;
use crate::fleet::{FileFilter, InstanceSelection};

fn deployment() -> Deployment {
    Deployment {
        state_table: Ok(TABLE.into()),
        queue_url: Ok(QUEUE_URL.into()),
        dlq_url: Some(Ok(DLQ_URL.into())),
        bucket: Ok(BUCKET.into()),
        prefix: "rds-logs".into(),
        fleet: Ok(FleetScope {
            selection: InstanceSelection {
                instances: vec!["pg-1".into(), "my-1".into()],
                ..InstanceSelection::default()
            },
            filter: FileFilter::default(),
        }),
        stack: Some(STACK.into()),
        region: Some("eu-west-1".into()),
    }
}

fn fleet() -> MemoryFleet {
    MemoryFleet::default()
        .with(
            "pg-1",
            "available",
            &[
                ("error/a.log", 300),
                ("error/b.log", 20),
                ("error/empty.log", 0),
            ],
        )
        .with("my-1", "available", &[("slowquery/slow.log", 50)])
}

async fn run(
    account: &MemoryAccount,
    fleet: MemoryFleet,
    source: &MemorySource,
    deployment: &Deployment,
) -> Report {
    let catalogs = vec![RegionCatalog {
        region: None,
        catalog: fleet,
    }];
    examine(account, &catalogs, source, deployment).await
}

fn line<'a>(report: &'a Report, check: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.check == check)
        .unwrap_or_else(|| panic!("no {check} line in {report:#?}"))
}

fn fix(check: &Check) -> &str {
    check.fix.as_deref().unwrap_or_default()
}

fn config_error(name: &'static str) -> Error {
    Error::Config {
        name,
        reason: "is not set".into(),
    }
}

#[tokio::test]
async fn a_deployment_set_up_as_the_stack_does_passes_every_check() {
    let account = MemoryAccount::healthy();
    let source = MemorySource::default();
    let report = run(&account, fleet(), &source, &deployment()).await;
    assert!(report.passed(), "{report:#?}");
    assert!(
        report.checks.iter().all(|c| c.result == Verdict::Ok),
        "{report:#?}"
    );
    assert_eq!(report.checks.len(), 9, "{report:#?}");
    // The smallest listed file with any bytes is the one downloaded.
    assert_eq!(*source.opened.lock().unwrap(), ["pg-1/error/b.log"]);
    assert!(line(&report, "instances").detail.contains("2 instances"));
    assert!(
        line(&report, "worker role")
            .detail
            .contains("allows the 12 actions")
    );
}

#[tokio::test]
async fn the_roles_are_asked_about_the_configured_resources() {
    let account = MemoryAccount::healthy();
    run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let simulations = account.simulations.lock().unwrap();
    let on = |resource: &str| {
        simulations
            .iter()
            .filter(|s| s.resource == resource)
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect::<Vec<_>>()
    };
    let table = format!("arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/{TABLE}");
    assert_eq!(
        on(&table),
        [
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem"
        ]
    );
    let queue = format!("arn:aws:sqs:eu-west-1:{ACCOUNT}:rdslogs-work");
    assert!(on(&queue).contains(&"sqs:SendMessage"));
    assert_eq!(on("*"), ["rds:DownloadCompleteDBLogFile"]);
    assert_eq!(
        on(&format!("arn:aws:rds:eu-west-1:{ACCOUNT}:db:pg-1")),
        [
            "rds:DescribeDBInstances",
            "rds:DescribeDBLogFiles",
            "rds:DescribeDBInstances"
        ]
    );
    assert_eq!(
        on(&format!(
            "arn:aws:s3:::{BUCKET}/rds-logs/.rdslogs-doctor/probe"
        )),
        // The lister's HeadObject for the manifests, then the worker's.
        [
            "s3:GetObject",
            "s3:PutObject",
            "s3:GetObject",
            "s3:AbortMultipartUpload"
        ]
    );
    // The lister writes only the manifests.
    assert_eq!(
        on(&format!(
            "arn:aws:s3:::{BUCKET}/rds-logs/_manifests/rdslogs-doctor/2000-01-01.json"
        )),
        ["s3:PutObject"]
    );
    // s3:ListBucket is asked with the prefix condition the worker's writes carry.
    let list = simulations
        .iter()
        .find(|s| s.actions == ["s3:ListBucket"])
        .expect("a ListBucket simulation");
    assert_eq!(list.resource, format!("arn:aws:s3:::{BUCKET}"));
    assert_eq!(
        list.context,
        [("s3:prefix".to_owned(), "rds-logs/".to_owned())]
    );
}

#[tokio::test]
async fn without_a_stack_the_roles_are_skipped_and_the_run_still_passes() {
    let mut deployment = deployment();
    deployment.stack = None;
    let report = run(
        &MemoryAccount::healthy(),
        fleet(),
        &MemorySource::default(),
        &deployment,
    )
    .await;
    assert!(report.passed());
    assert_eq!(line(&report, "function roles").result, Verdict::Skipped);
}

#[tokio::test]
async fn a_missing_table_fails_its_line_and_every_other_check_still_runs() {
    let mut account = MemoryAccount::healthy();
    account.tables.clear();
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let table = line(&report, "state table");
    assert_eq!(table.result, Verdict::Failed);
    assert!(table.detail.contains("does not exist"), "{table:?}");
    assert!(fix(table).contains("rdslogs setup"));
    assert_eq!(report.failed(), 1, "{report:#?}");
    assert_eq!(line(&report, "signed download").result, Verdict::Ok);
}

#[tokio::test]
async fn a_table_with_another_key_or_without_ttl_fails_with_the_fix() {
    let mut account = MemoryAccount::healthy();
    let table = account.tables.get_mut(TABLE).unwrap();
    table.keys[1].attribute_type = Some("N".into());
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let check = line(&report, "state table");
    assert!(
        check
            .detail
            .contains("RANGE file N; expected HASH instance S, RANGE file S"),
        "{check:?}"
    );

    let mut account = MemoryAccount::healthy();
    account.tables.get_mut(TABLE).unwrap().ttl = Ok(Some(TtlFacts {
        attribute: None,
        status: "DISABLED".into(),
    }));
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let check = line(&report, "state table");
    assert_eq!(check.result, Verdict::Failed);
    assert!(fix(check).contains("AttributeName=expires_at"), "{check:?}");

    let mut account = MemoryAccount::healthy();
    account.tables.get_mut(TABLE).unwrap().ttl = Err(denied());
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    assert!(fix(line(&report, "state table")).contains("allow dynamodb:DescribeTimeToLive"));
}

#[tokio::test]
async fn a_work_queue_without_redrive_or_to_another_queue_fails() {
    let mut account = MemoryAccount::healthy();
    account.queues.get_mut(QUEUE_URL).unwrap().redrive_policy = None;
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let work = line(&report, "work queue");
    assert_eq!(work.result, Verdict::Failed);
    assert!(work.detail.contains("no redrive policy"));
    assert!(fix(work).contains("redrive policy to the dead-letter queue"));
    assert_eq!(line(&report, "dead-letter queue").result, Verdict::Ok);

    let mut account = MemoryAccount::healthy();
    account.queues.get_mut(QUEUE_URL).unwrap().redrive_policy = Some(
        r#"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:1:other","maxReceiveCount":"3"}"#.into(),
    );
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let work = line(&report, "work queue");
    assert_eq!(work.result, Verdict::Failed);
    assert!(work.detail.contains("but RDSLOGS_DLQ_URL is"), "{work:?}");

    // Without RDSLOGS_DLQ_URL the target is taken on trust.
    let mut deployment = deployment();
    deployment.dlq_url = None;
    let report = run(&account, fleet(), &MemorySource::default(), &deployment).await;
    assert_eq!(line(&report, "work queue").result, Verdict::Ok);
    assert!(
        line(&report, "work queue")
            .detail
            .contains("after 3 receives")
    );
    assert_eq!(line(&report, "dead-letter queue").result, Verdict::Skipped);
}

#[tokio::test]
async fn a_missing_key_answering_403_names_s3_list_bucket() {
    let mut account = MemoryAccount::healthy();
    account.missing_keys_denied = true;
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    let probe = line(&report, "missing key answers 404");
    assert_eq!(probe.result, Verdict::Failed);
    assert!(probe.detail.contains("answered 403, not 404"), "{probe:?}");
    assert!(fix(probe).contains("s3:ListBucket on arn:aws:s3:::rdslogs-bucket"));
    assert!(fix(probe).contains("403 AccessDenied instead of 404"));
    assert_eq!(line(&report, "bucket").result, Verdict::Ok);

    // A bucket that does not exist: the key probe is not asked.
    let mut account = MemoryAccount::healthy();
    account.buckets.clear();
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    assert_eq!(line(&report, "bucket").result, Verdict::Failed);
    assert_eq!(
        line(&report, "missing key answers 404").result,
        Verdict::Skipped
    );
}

#[tokio::test]
async fn missing_settings_fail_their_lines_with_the_variable_to_set() {
    let mut deployment = deployment();
    deployment.state_table = Err(config_error(config::STATE_TABLE));
    deployment.bucket = Err(config_error(config::BUCKET));
    deployment.fleet = Err(config_error(config::INSTANCES));
    let report = run(
        &MemoryAccount::healthy(),
        fleet(),
        &MemorySource::default(),
        &deployment,
    )
    .await;
    let table = line(&report, "state table");
    assert_eq!(table.result, Verdict::Failed);
    assert_eq!(
        fix(table),
        "set RDSLOGS_STATE_TABLE (or its flag) to the stack's StateTableName output, or name the stack with --stack"
    );
    assert!(fix(line(&report, "bucket")).contains("LogBucketName"));
    assert_eq!(line(&report, "instances").result, Verdict::Failed);
    assert_eq!(line(&report, "signed download").result, Verdict::Skipped);
    // The roles are checked for what can be named; the rest is listed.
    let worker = line(&report, "worker role");
    assert_eq!(worker.result, Verdict::Ok, "{worker:?}");
    assert!(
        worker
            .detail
            .contains("dynamodb:GetItem (RDSLOGS_STATE_TABLE is not set)"),
        "{worker:?}"
    );
}

#[tokio::test]
async fn each_instance_that_will_not_ship_gets_its_own_line_and_fix() {
    let mut deployment = deployment();
    if let Ok(scope) = &mut deployment.fleet {
        scope.selection.instances = ["pg-1", "gone", "stopped", "empty", "secret"]
            .map(String::from)
            .to_vec();
    }
    let mut fleet = fleet()
        .with("stopped", "stopped", &[("x.log", 1)])
        .with("empty", "available", &[])
        .with("secret", "available", &[]);
    fleet.files.remove("secret");
    let report = run(
        &MemoryAccount::healthy(),
        fleet,
        &MemorySource::default(),
        &deployment,
    )
    .await;
    assert_eq!(line(&report, "instances").result, Verdict::Ok);
    assert!(
        line(&report, "instances")
            .detail
            .starts_with("1 instances list log files: pg-1 (3 files)")
    );
    assert!(fix(line(&report, "instance gone")).contains("RDSLOGS_INSTANCES"));
    assert!(fix(line(&report, "instance stopped")).starts_with("start the instance"));
    assert!(
        line(&report, "instance empty")
            .detail
            .contains("lists no log files")
    );
    assert!(fix(line(&report, "instance secret")).contains("allow rds:DescribeDBLogFiles"));
    assert_eq!(report.failed(), 4);
    assert_eq!(line(&report, "signed download").result, Verdict::Ok);
}

#[tokio::test]
async fn files_the_filters_exclude_do_not_count() {
    let mut deployment = deployment();
    if let Ok(scope) = &mut deployment.fleet {
        scope.filter = FileFilter::new(&["slowquery/*".into()], &[]).unwrap();
    }
    let source = MemorySource::default();
    let report = run(&MemoryAccount::healthy(), fleet(), &source, &deployment).await;
    let pg = line(&report, "instance pg-1");
    assert!(
        pg.detail.contains("none accepted by RDSLOGS_INCLUDE"),
        "{pg:?}"
    );
    assert_eq!(*source.opened.lock().unwrap(), ["my-1/slowquery/slow.log"]);
}

#[tokio::test]
async fn a_refused_download_names_the_rds_permission() {
    let source = MemorySource {
        refuse: true,
        ..MemorySource::default()
    };
    let report = run(&MemoryAccount::healthy(), fleet(), &source, &deployment()).await;
    let download = line(&report, "signed download");
    assert_eq!(download.result, Verdict::Failed);
    assert!(fix(download).contains("rds:DownloadCompleteDBLogFile"));
    // Nothing listed, nothing to download: skipped, the instances line fails.
    let report = run(
        &MemoryAccount::healthy(),
        MemoryFleet::default(),
        &source,
        &deployment(),
    )
    .await;
    assert_eq!(line(&report, "signed download").result, Verdict::Skipped);
    assert_eq!(line(&report, "instances").result, Verdict::Failed);
}

#[tokio::test]
async fn a_role_without_an_action_fails_naming_the_action_resource_and_condition() {
    let mut account = MemoryAccount::healthy();
    account.withheld.insert("s3:ListBucket".into());
    let report = run(&account, fleet(), &MemorySource::default(), &deployment()).await;
    // Both read keys that may be missing.
    assert_eq!(line(&report, "lister role").result, Verdict::Failed);
    let worker = line(&report, "worker role");
    assert_eq!(worker.result, Verdict::Failed);
    assert!(
        worker
            .detail
            .contains("s3:ListBucket on arn:aws:s3:::rdslogs-bucket not allowed"),
        "{worker:?}"
    );
    assert!(
        fix(worker).contains("with the condition s3:prefix \"rds-logs/*\""),
        "{worker:?}"
    );
    assert!(fix(worker).contains("403, not 404"));
}

#[tokio::test]
async fn a_stack_or_simulator_that_cannot_answer_fails_the_role_lines() {
    let mut deployment = deployment();
    deployment.stack = Some("no-such-stack".into());
    let report = run(
        &MemoryAccount::healthy(),
        fleet(),
        &MemorySource::default(),
        &deployment,
    )
    .await;
    let roles = line(&report, "function roles");
    assert_eq!(roles.result, Verdict::Failed);
    assert!(
        roles
            .detail
            .contains("no-such-stack not found in eu-west-1")
    );

    let mut account = MemoryAccount::healthy();
    account.simulator_error = Some(denied());
    let report = run(
        &account,
        fleet(),
        &MemorySource::default(),
        &super::tests::deployment(),
    )
    .await;
    let lister = line(&report, "lister role");
    assert_eq!(lister.result, Verdict::Failed);
    assert!(
        fix(lister).contains("allow iam:SimulatePrincipalPolicy"),
        "{lister:?}"
    );
}

#[test]
fn queue_arns_come_from_the_url_or_the_given_region_and_account() {
    assert_eq!(
        queue_arn(QUEUE_URL, "aws", "us-east-1", "000000000000").as_deref(),
        Some("arn:aws:sqs:eu-west-1:123456789012:rdslogs-work")
    );
    assert_eq!(
        queue_arn(
            "http://127.0.0.1:5000/123456789012/q",
            "aws",
            "us-east-1",
            "1"
        )
        .as_deref(),
        Some("arn:aws:sqs:us-east-1:123456789012:q")
    );
    assert_eq!(
        queue_arn(
            "https://eu-west-1.queue.amazonaws.com/123456789012/q",
            "aws",
            "x",
            "1"
        )
        .as_deref(),
        Some("arn:aws:sqs:eu-west-1:123456789012:q")
    );
}

#[test]
fn the_probe_key_sits_under_the_prefix() {
    assert_eq!(
        probe_key("/rds-logs/", 255),
        "rds-logs/.rdslogs-doctor/00000000000000ff"
    );
    assert_eq!(probe_key("", 1), ".rdslogs-doctor/0000000000000001");
}
