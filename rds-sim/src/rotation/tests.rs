//! The rotation, rewrite and switchover operations on a fleet folder.

use super::*;

const AUDIT: &str = "audit/server_audit.log";
const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

fn fleet_with(files: &[(&str, &[u8], i64)]) -> (tempfile::TempDir, Fleet) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::new(dir.path());
    for (name, bytes, ms) in files {
        let path = fleet.log_file_path("db-1", name).unwrap();
        write_file(&path, bytes, Some(*ms)).unwrap();
    }
    (dir, fleet)
}

fn read(fleet: &Fleet, name: &str) -> String {
    String::from_utf8(std::fs::read(fleet.log_file_path("db-1", name).unwrap()).unwrap()).unwrap()
}

#[test]
fn rotation_renames_down_the_chain_keeps_mtimes_and_drops_beyond_the_cap() {
    // GIVEN an audit log written at T0, rotated with a cap of 2, each
    // new generation last written an hour after the one before
    let (_dir, fleet) = fleet_with(&[(AUDIT, b"gen0", T0)]);
    let mut dropped = Vec::new();
    for generation in 1..=3 {
        let contents = format!("gen{generation}");
        let rotated = fleet.rotate("db-1", AUDIT, 2, contents.as_bytes()).unwrap();
        dropped.push(rotated.dropped);
        fleet
            .rewrite(
                "db-1",
                AUDIT,
                contents.as_bytes(),
                Some(T0 + generation * HOUR),
            )
            .unwrap();
    }

    // THEN each renamed file kept its bytes and its last-written time,
    // and the third rotation dropped the oldest
    assert_eq!(dropped, [None, None, Some(format!("{AUDIT}.2"))]);
    assert_eq!(read(&fleet, AUDIT), "gen3");
    assert_eq!(read(&fleet, &format!("{AUDIT}.1")), "gen2");
    assert_eq!(read(&fleet, &format!("{AUDIT}.2")), "gen1");
    let listed: Vec<(String, i64)> = fleet
        .log_files("db-1")
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.last_written_ms))
        .collect();
    assert_eq!(
        listed,
        [
            (AUDIT.to_owned(), T0 + 3 * HOUR),
            (format!("{AUDIT}.1"), T0 + 2 * HOUR),
            (format!("{AUDIT}.2"), T0 + HOUR),
        ]
    );
}

#[test]
fn the_new_file_of_a_rotation_is_written_now_with_the_given_contents() {
    let (_dir, fleet) = fleet_with(&[(AUDIT, b"old", T0)]);
    let rotated = fleet.rotate("db-1", AUDIT, 9, b"first line\n").unwrap();
    let names: Vec<&str> = rotated.chain.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, [AUDIT, &format!("{AUDIT}.1")]);
    assert_eq!(rotated.chain[0].size, 11);
    assert!(rotated.chain[0].last_written_ms > T0);
    assert_eq!(rotated.chain[1].last_written_ms, T0);
}

#[test]
fn rotation_refuses_a_missing_file_and_a_cap_rds_does_not_allow() {
    let (_dir, fleet) = fleet_with(&[(AUDIT, b"x", T0)]);
    let missing = fleet.rotate("db-1", "audit/other.log", 3, b"").unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    for keep in [0, MAX_KEEP + 1] {
        let refused = fleet.rotate("db-1", AUDIT, keep, b"").unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidInput, "{keep}");
    }
    assert_eq!(
        read(&fleet, AUDIT),
        "x",
        "a refused rotation changes nothing"
    );
}

#[test]
fn rewrites_replace_bytes_shorter_or_same_size_under_the_same_name() {
    let (_dir, fleet) = fleet_with(&[("error/postgresql.log", b"0123456789", T0)]);

    let shorter = fleet
        .rewrite("db-1", "error/postgresql.log", b"abc", None)
        .unwrap();
    assert_eq!(
        (shorter.size, read(&fleet, "error/postgresql.log").as_str()),
        (3, "abc")
    );
    assert!(shorter.last_written_ms > T0, "written now");

    let same_size = fleet
        .rewrite("db-1", "error/postgresql.log", b"xyz", Some(T0 + HOUR))
        .unwrap();
    assert_eq!(same_size.size, 3);
    assert_eq!(same_size.last_written_ms, T0 + HOUR);
    assert_eq!(read(&fleet, "error/postgresql.log"), "xyz");

    let missing = fleet.rewrite("db-1", "nope.log", b"", None).unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
}

#[test]
fn an_hourly_name_is_reused_the_next_day_by_a_rewrite_with_a_newer_time() {
    let name = "slowquery/mysql-slowquery.log.3";
    let (_dir, fleet) = fleet_with(&[(name, b"# Time: day 1, 03:00\n", T0)]);
    let next_day = fleet
        .rewrite(
            "db-1",
            name,
            b"# Time: day 2, 03:00\n",
            Some(T0 + 24 * HOUR),
        )
        .unwrap();
    assert_eq!(next_day.name, name);
    assert_eq!(next_day.last_written_ms, T0 + 24 * HOUR);
    assert_eq!(read(&fleet, name), "# Time: day 2, 03:00\n");
}

#[test]
fn a_switchover_changes_the_resource_id_and_keeps_the_file_names() {
    // GIVEN an instance that is only a folder (no fleet.json)
    let (dir, fleet) = fleet_with(&[("a.log", b"blue a", T0), ("b.log", b"blue b", T0)]);
    let before = fleet.instance("db-1").unwrap().unwrap().dbi_resource_id();

    // WHEN it switches over to files with the same names, written earlier
    let files = ["a.log", "b.log"].map(|name| NewLogFile {
        name: name.to_owned(),
        contents: Contents::Text(format!("green {name}")),
        last_written_ms: Some(T0 - HOUR),
    });
    let after = fleet.switchover("db-1", None, Some(&files)).unwrap();

    // THEN the resource id is new, the names are the same, and a
    // restarted simulator answers the same new id
    assert_ne!(after, before);
    resource_id::validate(&after).unwrap();
    let listed: Vec<(String, i64)> = fleet
        .log_files("db-1")
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.last_written_ms))
        .collect();
    assert_eq!(
        listed,
        [("a.log".into(), T0 - HOUR), ("b.log".into(), T0 - HOUR)]
    );
    assert_eq!(read(&fleet, "a.log"), "green a.log");
    let restarted = Fleet::new(dir.path()).instance("db-1").unwrap().unwrap();
    assert_eq!(restarted.dbi_resource_id(), after);

    // AND a given id is taken as is, the files left alone
    let given = "db-ABCDEFGHIJKLMNOPQRSTUVWXY0";
    assert_eq!(fleet.switchover("db-1", Some(given), None).unwrap(), given);
    assert_eq!(read(&fleet, "b.log"), "green b.log");
    let again = fleet.switchover("db-1", Some(given), None).unwrap_err();
    assert_eq!(again.kind(), io::ErrorKind::InvalidInput);
    let unknown = fleet.switchover("db-2", None, None).unwrap_err();
    assert_eq!(unknown.kind(), io::ErrorKind::NotFound);
}

#[test]
fn control_requests_accept_text_or_byte_contents() {
    let (_dir, fleet) = fleet_with(&[("x.log", b"old", T0)]);
    let body = br#"{"instance":"db-1","file":"x.log","contents":[255,0,10],"last_written_ms":1700000000000}"#;
    let answer = control(&fleet, "/_sim/rewrite", body).unwrap().unwrap();
    assert_eq!(answer["size"], 3);
    let bytes = std::fs::read(fleet.log_file_path("db-1", "x.log").unwrap()).unwrap();
    assert_eq!(bytes, [255, 0, 10]);
    let bad = control(&fleet, "/_sim/rotate", b"{}").unwrap().unwrap_err();
    assert_eq!(bad.kind(), io::ErrorKind::InvalidInput);
    assert!(control(&fleet, "/_sim/faults", b"{}").is_none());
}
