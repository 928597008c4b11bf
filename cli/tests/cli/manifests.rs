//! Daily manifests on the local stack: `list-once` writes each closed day's
//! manifest once the day's versions are shipped, `verify --manifests` walks
//! the chain, and a changed object or manifest is found.

use integration_tests::{LocalStack, StackOptions, set_mtime};
use serde_json::Value;
use shipper::state::CycleRecords;

use crate::{assert_exit, json, rdslogs, stdout};

/// A fleet last written two and three days ago, listed, shipped and
/// listed again: the second cycle closes the days before today.
async fn shipped_with_manifests() -> (LocalStack, Vec<String>) {
    let stack = LocalStack::start(StackOptions::default()).await;
    let day = 86_400_000;
    let now = shipper::now_ms();
    for (i, (instance, file)) in stack.source_files().iter().enumerate() {
        let days_ago = 2 + (i as i64 % 2);
        set_mtime(
            &stack.source_path(instance, file),
            now - days_ago * day - i as i64 * 1000,
        );
    }
    stdout(&rdslogs(&stack, &["list-once"]));
    stdout(&rdslogs(&stack, &["work", "--until-empty"]));
    let second = stdout(&rdslogs(&stack, &["list-once"]));
    assert!(second.contains("daily manifests written"), "{second}");
    let manifests: Vec<String> = stack
        .object_keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("rds-logs/_manifests/"))
        .collect();
    (stack, manifests)
}

fn problems(report: &Value) -> Vec<String> {
    report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["problems"].as_array().unwrap().clone())
        .map(|p| {
            format!(
                "{}: {}",
                p["key"].as_str().unwrap(),
                p["problem"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_days_get_one_manifest_each_and_the_chain_checks_whole() {
    let (stack, manifests) = shipped_with_manifests().await;
    assert!(manifests.len() >= 2, "{manifests:?}");

    // A third cycle writes nothing again.
    let third = stdout(&rdslogs(&stack, &["list-once"]));
    assert!(!third.contains("daily manifest"), "{third}");

    // A run that wrote the manifests but stopped before recording the
    // chain's head: the next takes them as they are, and writes no other.
    let state = stack.state_table();
    for mut record in state.instance_cycles().await.unwrap() {
        record.manifest = None;
        state.record_instance_cycle(&record).await.unwrap();
    }
    let again = json(&rdslogs(&stack, &["list-once", "--json"]));
    assert_eq!(again["manifests_written"], manifests.len(), "{again:#}");
    let keys_after: Vec<String> = stack
        .object_keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("rds-logs/_manifests/"))
        .collect();
    assert_eq!(keys_after, manifests);

    let report = json(&rdslogs(&stack, &["verify", "--manifests", "--json"]));
    assert_eq!(problems(&report), Vec::<String>::new());
    let walked: u64 = report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["manifests"].as_u64().unwrap())
        .sum();
    assert_eq!(walked as usize, manifests.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_object_and_a_changed_manifest_are_found() {
    let (stack, manifests) = shipped_with_manifests().await;
    let s3 = &stack.clients.s3;
    let bucket = &stack.worker_config.bucket;
    let read = |key: String| async move {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        got.body.collect().await.unwrap().into_bytes().to_vec()
    };
    // GIVEN the first manifest of an instance with at least two
    let first = manifests
        .iter()
        .find(|m| {
            let folder = &m[..m.rfind('/').unwrap()];
            manifests.iter().filter(|o| o.starts_with(folder)).count() >= 2
        })
        .expect("an instance with two manifests")
        .clone();
    let manifest: Value = serde_json::from_slice(&read(first.clone()).await).unwrap();
    let listed = manifest["objects"][0]["key"].as_str().unwrap().to_owned();

    // WHEN an object it lists is overwritten, and the manifest itself is
    // rewritten with one byte count changed
    s3.put_object()
        .bucket(bucket)
        .key(&listed)
        .body(b"rewritten history".to_vec().into())
        .send()
        .await
        .unwrap();
    let mut edited = manifest.clone();
    edited["objects"][0]["stored_bytes"] = 1.into();
    s3.put_object()
        .bucket(bucket)
        .key(&first)
        .body(serde_json::to_vec_pretty(&edited).unwrap().into())
        .send()
        .await
        .unwrap();

    // THEN verify --manifests exits 5 and names both
    let out = rdslogs(&stack, &["verify", "--manifests", "--json"]);
    assert_exit(&out, 5);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = problems(&report);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(&format!("{listed}: S3 holds"))),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains(&format!("but {first} hashes to"))),
        "{found:#?}"
    );
}
