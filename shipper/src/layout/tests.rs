//! Unit tests of `layout`.
use super::*;
use crate::version::FileVersion;

const HOUR: i64 = 3_600_000;
/// 2026-11-20T00:00:00Z
const NOV_20: i64 = 1_795_132_800_000;

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

fn v(instance: &str, file: &str, lw: i64) -> LogFileVersion {
    LogFileVersion {
        instance: instance.into(),
        file: file.into(),
        version: FileVersion::new(1, lw),
        region: None,
        incarnation: None,
    }
}

#[test]
fn dates_come_from_real_file_names_of_each_engine() {
    // A last-written time far from every date in the names, so a
    // fallback would show.
    let lw = NOV_20 + 40 * 24 * HOUR;
    let cases = [
        // PostgreSQL and Aurora PostgreSQL, plain and csvlog
        ("error/postgresql.log.2026-11-20-13", "2026-11-20"),
        ("error/postgresql.log.2026-11-20-13.csv", "2026-11-20"),
        ("error/postgresql.log.2026-11-20-1305", "2026-11-20"),
        ("error/postgres.log", "2026-12-30"),
        // Aurora MySQL names its rotated logs by date and hour
        ("slowquery/mysql-slowquery.log.2026-11-20.13", "2026-11-20"),
        ("audit/audit.log.0.2026-11-20-13-05.1", "2026-11-20"),
        // Oracle: audit files carry a timestamp, traces do not
        ("audit/ORCL_ora_4242_20261120130501123456.aud", "2026-11-20"),
        ("trace/alert_ORCL.log", "2026-12-30"),
        ("trace/ORCL_ora_4242.trc", "2026-12-30"),
        ("trace/listener.log", "2026-12-30"),
        // SQL Server: no dates in names
        ("log/ERROR", "2026-12-30"),
        ("log/ERROR.1", "2026-12-30"),
        ("log/SQLAgent.out", "2026-12-30"),
        ("log/rdstrace_4.trc", "2026-12-30"),
        // MariaDB / MySQL audit plugin rotation numbers are not hours
        ("audit/server_audit.log.3", "2026-12-30"),
    ];
    for (file, want) in cases {
        assert_eq!(log_date(file, lw), day(want), "{file}");
    }
}

#[test]
fn mysql_hourly_files_belong_to_the_day_of_the_hour_they_hold() {
    // Real DescribeDBLogFiles rows (RDS MySQL): `.N` is the rotation
    // hour and holds hour N-1, last written around (N-1):55.
    let real = [
        (
            "error/mysql-error-running.log.0",
            1_491_436_546_000,
            "2017-04-05",
        ),
        (
            "error/mysql-error-running.log.1",
            1_491_440_100_000,
            "2017-04-06",
        ),
        (
            "error/mysql-error-running.log.6",
            1_491_458_107_000,
            "2017-04-06",
        ),
        (
            "error/mysql-error-running.log.15",
            1_491_404_111_000,
            "2017-04-05",
        ),
        (
            "error/mysql-error-running.log.23",
            1_491_432_938_000,
            "2017-04-05",
        ),
        (
            "error/mysql-error-running.log.9",
            1_491_468_300_000,
            "2017-04-06",
        ),
        (
            "slowquery/mysql-slowquery.log.7",
            1_474_959_300_000,
            "2016-09-27",
        ),
    ];
    for (file, lw, want) in real {
        assert_eq!(log_date(file, lw), day(want), "{file}");
    }
    // A last flush a few seconds after the midnight rotation: the day before.
    let nov_21 = NOV_20 + 24 * HOUR;
    assert_eq!(
        log_date("error/mysql-error-running.log.0", nov_21 + 5_000),
        day("2026-11-20")
    );
    assert_eq!(
        log_date("general/mysql-general.log.1", nov_21 + HOUR + 5_000),
        day("2026-11-21")
    );
    // The current file has no hour: its last-written day; newer names carry the date.
    assert_eq!(
        log_date("error/mysql-error-running.log", nov_21 + 5_000),
        day("2026-11-21")
    );
    assert_eq!(
        log_date("error/mysql-error-running.log.2021-12-14.20", nov_21),
        day("2021-12-14")
    );
}

#[test]
fn the_dr_seeds_csv_bug_does_not_happen() {
    // The seed took the text after the last dot as the date: "csv".
    let layout = KeyLayout::default();
    let key = layout.key(&v(
        "pg-1",
        "error/postgresql.log.2026-11-20-13.csv",
        NOV_20 + 40 * 24 * HOUR,
    ));
    assert_eq!(
        key,
        "rds-logs/instance=pg-1/date=2026-11-20/error/postgresql.log.2026-11-20-13.csv"
    );
    assert!(!key.contains("csv/"));
}

#[test]
fn names_that_only_look_like_dates_are_not_dates() {
    assert_eq!(
        log_date("error/x.log.2026-13-40-01", NOV_20),
        day("2026-11-20")
    );
    assert_eq!(
        log_date("trace/ORCL_ora_12345678.trc", NOV_20),
        day("2026-11-20")
    );
    assert_eq!(log_date("a/12026-11-21.log", NOV_20), day("2026-11-20"));
}

#[test]
fn templates_render_and_are_checked() {
    let file = v("pg-1", "error/postgresql.log.2026-11-20-13", NOV_20);
    let custom = KeyLayout::new(
        "logs/{year}/{month}/{day}/{instance}/{file}",
        "",
        Compression::Gzip,
    )
    .unwrap();
    assert_eq!(
        custom.key(&file),
        "logs/2026/11/20/pg-1/error/postgresql.log.2026-11-20-13.gz"
    );
    let no_prefix = KeyLayout::new(DEFAULT_TEMPLATE, "/", Compression::Zstd).unwrap();
    assert_eq!(
        no_prefix.key(&file),
        "instance=pg-1/date=2026-11-20/error/postgresql.log.2026-11-20-13.zst"
    );
    let regional = KeyLayout::new(
        "{prefix}/{region}/{instance}/{file}",
        "a/b/",
        Compression::None,
    )
    .unwrap();
    let mut elsewhere = file.clone();
    elsewhere.region = Some("eu-west-1".into());
    assert_eq!(
        regional.key(&elsewhere),
        "a/b/eu-west-1/pg-1/error/postgresql.log.2026-11-20-13"
    );
    for bad in [
        "{prefix}/{file}",
        "{instance}",
        "{instance}/{nope}/{file}",
        "{instance}/{file",
        "{instance}}/{file}",
    ] {
        assert!(
            KeyLayout::new(bad, "p", Compression::None).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn compression_names_parse() {
    assert_eq!(Compression::parse("GZIP").unwrap(), Compression::Gzip);
    assert_eq!(
        Compression::parse("zstd").unwrap().content_encoding(),
        Some("zstd")
    );
    assert_eq!(Compression::parse("none").unwrap().suffix(), "");
    assert!(Compression::parse("brotli").is_err());
}

#[test]
fn a_version_that_does_not_extend_gets_a_marked_key_beside_the_first() {
    let file = v("pg-1", "error/x.log", NOV_20 + 1_234);
    // Without {version}: before the compression suffix.
    let plain = KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::Gzip).unwrap();
    let marked = plain.versioned_key(&file).unwrap();
    assert_eq!(marked, "logs/pg-1/error/x.log~20261120T000001.234Z-1.gz");
    // With {version}: where it stands, and nothing at all for the first content.
    let folder = KeyLayout::new(
        "{prefix}/{instance}/{version}/{file}",
        "logs",
        Compression::None,
    )
    .unwrap();
    assert_eq!(folder.key(&file), "logs/pg-1/error/x.log");
    assert_eq!(
        folder.versioned_key(&file).unwrap(),
        "logs/pg-1/~20261120T000001.234Z-1/error/x.log"
    );
    // Every key of a file is recognised as its own, and no other file's.
    for layout in [&plain, &folder] {
        assert!(layout.is_key_of(&layout.key(&file), &file));
        assert!(layout.is_key_of(&layout.versioned_key(&file).unwrap(), &file));
        let other = v("pg-1", "error/y.log", NOV_20);
        assert!(!layout.is_key_of(&layout.key(&other), &file));
        assert!(!layout.is_key_of(&layout.versioned_key(&other).unwrap(), &file));
    }
}
