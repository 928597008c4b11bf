//! Names RDS reuses: a file rewritten under the same name never replaces
//! the bytes already shipped.

use integration_tests::{LocalStack, StackOptions, shipped_count};
use rds_sim::generate::{MYSQL_INSTANCE, POSTGRES_INSTANCE};
use rds_sim::{Contents, NewLogFile};
use shipper::worker::SyncOutcome;

const FILE: &str = "error/postgresql.log.2026-11-20-13";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_rewritten_shorter_keeps_its_shipped_bytes_and_ships_beside_them() {
    // GIVEN a shipped fleet
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.list_once().await;
    stack.drain().await;
    let key = stack.key(POSTGRES_INSTANCE, FILE);
    let shipped = stack.source_bytes(POSTGRES_INSTANCE, FILE);
    assert_eq!(
        stack.object(&key).await.as_deref(),
        Some(shipped.as_slice())
    );
    // WHEN RDS rewrites one file shorter, later, under the same name
    stack
        .sim
        .fleet()
        .rewrite(
            POSTGRES_INSTANCE,
            FILE,
            b"restored\n",
            Some(shipper::now_ms()),
        )
        .unwrap();
    let report = stack.list_once().await;
    assert_eq!(report.enqueued(), 1, "{report:?}");
    assert_eq!(shipped_count(&stack.drain().await), 1);
    // THEN the shipped bytes stay, and the new content has a key of its own
    assert_eq!(
        stack.object(&key).await.as_deref(),
        Some(shipped.as_slice())
    );
    let record = stack
        .file_state(POSTGRES_INSTANCE, FILE)
        .await
        .shipped
        .unwrap();
    assert!(record.key.starts_with(&format!("{key}~")), "{}", record.key);
    assert_eq!(stack.object(&record.key).await.unwrap(), b"restored\n");
}

const HOUR: i64 = 3_600_000;
const AUDIT: &str = "audit/server_audit.log";

/// Yesterday at midnight (UTC): a simulated day that is over.
fn yesterday() -> i64 {
    const DAY: i64 = 24 * HOUR;
    (shipper::now_ms() / DAY - 1) * DAY
}

/// Every object the stack holds for `instance`, with its bytes.
async fn objects_of(stack: &LocalStack, instance: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in stack.object_keys().await {
        if key.contains(&format!("instance={instance}/")) {
            let bytes = stack.object(&key).await.expect("object");
            out.push((key, bytes));
        }
    }
    out
}

/// Every file of `instance` on the simulated RDS now, with its bytes.
fn contents_of(stack: &LocalStack, instance: &str) -> Vec<(String, Vec<u8>)> {
    stack
        .sim
        .fleet()
        .log_files(instance)
        .expect("list the simulated instance")
        .into_iter()
        .map(|f| {
            let bytes = stack.source_bytes(instance, &f.name);
            (f.name, bytes)
        })
        .collect()
}

/// What the day's checks need: every content a cycle could list is in S3
/// whole, and every object holds exactly one content that RDS had.
fn assert_archive(objects: &[(String, Vec<u8>)], listed: &[(String, Vec<u8>)], ever: &[Vec<u8>]) {
    for (name, bytes) in listed {
        assert!(
            objects.iter().any(|(_, o)| o == bytes),
            "the {}-byte content listed as {name} is in no object; objects: {:?}",
            bytes.len(),
            objects
                .iter()
                .map(|(k, o)| (k, o.len()))
                .collect::<Vec<_>>()
        );
    }
    for (key, bytes) in objects {
        assert!(
            ever.iter().any(|c| c == bytes),
            "{key} holds {} bytes that were never one file's content",
            bytes.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generation_of_a_rotating_audit_log_reaches_s3_whole_and_apart() {
    // GIVEN the audit plugin's chain on a MySQL instance, RDS keeping one
    // rotated file, and full listings only once a day
    let mut stack = LocalStack::start(StackOptions::default()).await;
    stack.lister_config.full_listing_every = std::time::Duration::from_secs(24 * 3600);
    let day = yesterday();
    let generation = |g: usize| {
        // Each larger than the last, as a busy day's are.
        format!("gen {g:02} audit record\n").repeat(40 + 10 * g)
    };
    let live = stack.source_path(MYSQL_INSTANCE, AUDIT);
    integration_tests::write_log(&live, generation(0).as_bytes(), day);
    let mut listed = Vec::new();
    let mut ever = vec![generation(0).into_bytes()];
    let cycle = async |stack: &LocalStack, at: i64, listed: &mut Vec<_>| {
        stack.list_at(at).await;
        listed.extend(contents_of(stack, MYSQL_INSTANCE));
    };
    cycle(&stack, day + HOUR, &mut listed).await;
    stack.drain().await;
    // WHEN it rotates five times in the day, each time a few hours after
    // its last write, while the grown file's message waits in the queue
    for g in 1..=5 {
        let t = day + 4 * HOUR * g as i64;
        let grown = [generation(g - 1).as_bytes(), b"late records\n"].concat();
        integration_tests::write_log(&live, &grown, t - 3 * HOUR);
        ever.push(grown);
        cycle(&stack, t, &mut listed).await;
        let rotated = stack
            .sim
            .fleet()
            .rotate(MYSQL_INSTANCE, AUDIT, 1, generation(g).as_bytes())
            .expect("rotate");
        integration_tests::set_mtime(&live, t + 300_000);
        ever.push(generation(g).into_bytes());
        assert_eq!(rotated.dropped.is_some(), g > 1);
        // The waiting message downloads the new file under the old version.
        stack.drain().await;
        cycle(&stack, t + 600_000, &mut listed).await;
        stack.drain().await;
    }
    cycle(&stack, day + 23 * HOUR, &mut listed).await;
    stack.drain().await;
    // THEN every content any cycle could list is in S3, byte-identical,
    // and no object mixes two contents
    let objects = objects_of(&stack, MYSQL_INSTANCE).await;
    let audit: Vec<_> = objects
        .into_iter()
        .filter(|(k, _)| k.contains("server_audit"))
        .collect();
    let listed: Vec<_> = listed
        .into_iter()
        .filter(|(name, _)| name.starts_with(AUDIT))
        .collect();
    assert_archive(&audit, &listed, &ever);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hourly_names_reused_the_next_day_and_same_size_rewrites_keep_both_contents() {
    let stack = LocalStack::start(StackOptions::default()).await;
    let day = yesterday() - 24 * HOUR;
    let hourly = "slowquery/mysql-slowquery.log.5";
    let path = stack.source_path(MYSQL_INSTANCE, hourly);
    // GIVEN the 05:00 slow log of one day, shipped
    let first = b"# Time: 05:10 day one\nSELECT 1;\n".to_vec();
    integration_tests::write_log(&path, &first, day + 6 * HOUR - 1);
    stack.list_at(day + 7 * HOUR).await;
    stack.drain().await;
    // WHEN the next day writes the same name, shorter
    let second = b"# Time: 05:20 day two\n".to_vec();
    integration_tests::write_log(&path, &second, day + 30 * HOUR - 1);
    stack.list_at(day + 31 * HOUR).await;
    stack.drain().await;
    // AND then rewrites it in place with as many other bytes
    let third = b"# Time: 05:30 DAY TWO\n".to_vec();
    assert_eq!(third.len(), second.len());
    integration_tests::write_log(&path, &third, day + 30 * HOUR);
    stack.list_at(day + 31 * HOUR + 60_000).await;
    stack.drain().await;
    // THEN each content is one object of its own
    let objects = objects_of(&stack, MYSQL_INSTANCE).await;
    let ever = [first.clone(), second.clone(), third.clone()];
    let listed: Vec<_> = ever
        .iter()
        .map(|c| (hourly.to_owned(), c.clone()))
        .collect();
    let slow: Vec<_> = objects
        .into_iter()
        .filter(|(k, _)| k.contains("mysql-slowquery.log.5"))
        .collect();
    assert_archive(&slow, &listed, &ever);
    assert_eq!(slow.len(), 3, "{slow:?}");
    // AND the state knows every key the name has had
    let state = stack.file_state(MYSQL_INSTANCE, hourly).await;
    let mut keys: Vec<_> = slow.into_iter().map(|(k, _)| k).collect();
    keys.sort();
    assert_eq!(state.keys, keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_incarnation_never_replaces_the_old_ones_objects_nor_ships_under_its_name() {
    // GIVEN a shipped instance, and a grown file of it waiting in the queue
    let stack = LocalStack::start(StackOptions::default()).await;
    stack.list_once().await;
    stack.drain().await;
    let before = objects_of(&stack, POSTGRES_INSTANCE).await;
    let grown = [
        stack.source_bytes(POSTGRES_INSTANCE, FILE),
        b"one more line\n".to_vec(),
    ]
    .concat();
    let path = stack.source_path(POSTGRES_INSTANCE, FILE);
    integration_tests::write_log(&path, &grown, shipper::now_ms());
    assert_eq!(stack.list_once().await.enqueued(), 1);
    // WHEN a Blue/Green switchover gives the name to a new instance whose
    // files have the same names, other bytes and older times
    let fleet = stack.sim.fleet();
    let old = fleet.log_files(POSTGRES_INSTANCE).unwrap();
    let green: Vec<NewLogFile> = old
        .iter()
        .map(|f| NewLogFile {
            name: f.name.clone(),
            contents: Contents::Text(format!("green {}\n", f.name)),
            last_written_ms: Some(f.last_written_ms - HOUR),
        })
        .collect();
    let new_id = fleet
        .switchover(POSTGRES_INSTANCE, None, Some(&green))
        .unwrap();
    // THEN the waiting message ships nothing: the bytes RDS serves now are
    // the new instance's
    let waited = stack.drain().await;
    assert_eq!(
        waited.len(),
        1,
        "{:?}",
        waited.iter().map(|r| &r.result).collect::<Vec<_>>()
    );
    assert!(
        matches!(waited[0].result, Ok(SyncOutcome::Lost { .. })),
        "{:?}",
        waited[0].result
    );
    // AND the next cycle counts the old instance's unshipped version lost
    // and lists the new one in full
    let report = stack.list_once().await;
    let pg = report
        .instances
        .iter()
        .find(|i| i.instance == POSTGRES_INSTANCE)
        .unwrap();
    assert_eq!(pg.lost, 1, "{pg:?}");
    assert_eq!(pg.resource_id.as_deref(), Some(new_id.as_str()));
    assert_eq!(pg.listed_from_ms, None);
    assert_eq!(pg.enqueued, green.len());
    stack.drain().await;
    // AND every old object is as it was, beside the new instance's files
    let after = objects_of(&stack, POSTGRES_INSTANCE).await;
    for (key, bytes) in &before {
        assert!(
            after.contains(&(key.clone(), bytes.clone())),
            "{key} changed"
        );
    }
    assert_eq!(after.len(), before.len() + green.len());
    for file in &green {
        let bytes = file.contents.as_bytes();
        assert!(after.iter().any(|(_, o)| o == bytes), "{}", file.name);
    }
    let state = stack.file_state(POSTGRES_INSTANCE, FILE).await;
    assert_eq!(state.incarnation.as_deref(), Some(new_id.as_str()));
}
