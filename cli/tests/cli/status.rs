//! `rdslogs status` after a mixed run: shipped, pending, failed and lost
//! files, bytes shipped, lag and the lister's cycle, per instance.

use integration_tests::{LocalStack, StackOptions, set_mtime};
use rds_sim::{Fault, FaultRule, FaultTarget};
use serde_json::Value;

use crate::{assert_exit, json, partly_done, rdslogs, stdout};

const DENIED: &str = "error/postgresql.log.2026-11-20-13";
const GROWING: &str = "error/postgresql.log.2026-11-20-12";

fn instance<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status}"))
}

fn append(stack: &LocalStack, instance: &str, file: &str, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(stack.source_path(instance, file))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_a_mixed_run_per_instance() {
    // GIVEN a fleet where one file is refused for good, written two hours ago
    let stack = LocalStack::start(StackOptions::default()).await;
    let two_hours_ago = shipper::now_ms() - 2 * 3_600_000;
    set_mtime(&stack.source_path("pg-orders", DENIED), two_hours_ago);
    stack.sim.faults.add(FaultRule {
        target: FaultTarget::Download {
            instance: Some("pg-orders".into()),
            file: Some(DENIED.into()),
        },
        fault: Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
            message: "denied".into(),
        },
        times: None,
    });
    stdout(&rdslogs(&stack, &["list-once"]));
    partly_done(&rdslogs(
        &stack,
        &["work", "--until-empty", "--retry-delay", "0"],
    ));
    let files = stack.source_files();
    let size = |instance: &str, file: &str| stack.source_bytes(instance, file).len() as u64;
    let pg_files: Vec<&str> = files
        .iter()
        .filter(|(i, _)| i == "pg-orders")
        .map(|(_, f)| f.as_str())
        .collect();
    let pg_bytes: u64 = pg_files
        .iter()
        .filter(|f| **f != DENIED)
        .map(|f| size("pg-orders", f))
        .sum();
    let mysql: Vec<&str> = files
        .iter()
        .filter(|(i, _)| i == "mysql-billing")
        .map(|(_, f)| f.as_str())
        .collect();
    let mysql_bytes: u64 = mysql.iter().map(|f| size("mysql-billing", f)).sum();
    // AND two shipped files grow; one of them is deleted by RDS before it ships
    let doomed = pg_files
        .iter()
        .find(|f| **f != DENIED && **f != GROWING)
        .unwrap()
        .to_string();
    append(&stack, "pg-orders", GROWING, "one more line\n");
    append(&stack, "pg-orders", &doomed, "one more line\n");
    stdout(&rdslogs(&stack, &["list-once"]));
    std::fs::remove_file(stack.source_path("pg-orders", &doomed)).unwrap();
    stdout(&rdslogs(&stack, &["list-once"]));

    // WHEN the operator asks for the status
    let status = json(&rdslogs(&stack, &["status", "--json"]));

    // THEN each instance's numbers match what happened
    let pg = instance(&status, "pg-orders");
    assert_eq!(
        pg["shipped"].as_u64(),
        Some(pg_files.len() as u64 - 1),
        "{pg}"
    );
    assert_eq!(pg["pending"], 1, "{pg}");
    assert_eq!(pg["failed"], 1, "{pg}");
    assert_eq!(pg["lost"], 1, "{pg}");
    assert_eq!(pg["bytes_shipped"].as_u64(), Some(pg_bytes));
    assert_eq!(pg["bytes_stored"], pg["bytes_shipped"], "not compressed");
    assert_eq!(pg["oldest_unshipped"], DENIED);
    assert!(pg["lag_ms"].as_i64().unwrap() >= 2 * 3_600_000, "{pg}");
    assert!(pg["last_cycle"]["at_ms"].as_i64().unwrap() > two_hours_ago);
    let my = instance(&status, "mysql-billing");
    assert_eq!(my["shipped"].as_u64(), Some(mysql.len() as u64));
    assert_eq!(
        (
            my["pending"].as_u64(),
            my["failed"].as_u64(),
            my["lost"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(my["bytes_shipped"].as_u64(), Some(mysql_bytes));
    assert!(my["lag_ms"].is_null());
    let total = &status["total"];
    assert_eq!(total["shipped"].as_u64(), Some(files.len() as u64 - 1));
    assert_eq!(
        total["bytes_shipped"].as_u64(),
        Some(pg_bytes + mysql_bytes)
    );
    assert!(status["last_cycle"]["at_ms"].as_i64().is_some(), "{status}");

    // AND the table says the same for people; unknown instances match nothing
    let table = stdout(&rdslogs(&stack, &["status", "--instance", "pg-orders"]));
    assert!(
        table.contains("pg-orders") && !table.contains("mysql-billing"),
        "{table}"
    );
    assert!(
        table.contains(&format!("oldest unshipped: pg-orders/{DENIED}")),
        "{table}"
    );
    assert!(table.contains("lister: last cycle"), "{table}");
    assert_exit(&rdslogs(&stack, &["status", "--instance", "no-such-db"]), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_one_file_shows_every_key_a_rewritten_name_has_had() {
    // GIVEN a shipped file that RDS rewrote shorter under the same name
    let stack = LocalStack::start(StackOptions::default()).await;
    let work = ["work", "--until-empty", "--retry-delay", "0"];
    stdout(&rdslogs(&stack, &["list-once"]));
    stdout(&rdslogs(&stack, &work));
    let first = stack.key("pg-orders", GROWING);
    stack
        .sim
        .fleet()
        .rewrite("pg-orders", GROWING, b"restored\n", Some(shipper::now_ms()))
        .unwrap();
    stdout(&rdslogs(&stack, &["list-once"]));
    stdout(&rdslogs(&stack, &work));
    // WHEN the operator asks for that file
    let args = ["status", "--instance", "pg-orders", "--file", GROWING];
    let text = stdout(&rdslogs(&stack, &args));
    let record = json(&rdslogs(&stack, &[&args[..], &["--json"]].concat()));
    // THEN both keys are listed, the first content's and the rewrite's
    let keys = record["record"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{record}");
    assert_eq!(keys[0], first.as_str());
    assert!(keys[1].as_str().unwrap().starts_with(&format!("{first}~")));
    for key in keys {
        assert!(text.contains(key.as_str().unwrap()), "{text}");
    }
    // AND a file the table never saw is "nothing matched"
    let missing = rdslogs(
        &stack,
        &["status", "--instance", "pg-orders", "--file", "nope.log"],
    );
    assert_exit(&missing, 3);
}
