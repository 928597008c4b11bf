//! Where a log file version goes in S3: a key template (default partitioned
//! for Athena and Glue by instance and date), the date read from the file
//! name per engine or else its last-written day, and the compression suffix.
//! The single place that decides keys; plain Rust, unit tested.

use crate::error::{Error, MAX_KEY_BYTES};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::version::LogFileVersion;

pub const DEFAULT_TEMPLATE: &str = "{prefix}/instance={instance}/date={date}/{file}";

/// How shipped bytes are encoded in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            other => Err(format!("{other:?} is not none, gzip or zstd")),
        }
    }

    /// Appended to the key, so tools recognise the format by name.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// The object's `Content-Encoding`.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Prefix,
    Instance,
    Region,
    Date,
    Year,
    Month,
    Day,
    File,
    /// Empty for the first content under a name; `~<last written>-<size>`
    /// for a version that does not extend it.
    Version,
}

/// A checked key template with its prefix and compression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    parts: Vec<Part>,
    prefix: String,
    compression: Compression,
}

impl Default for KeyLayout {
    fn default() -> Self {
        Self::new(DEFAULT_TEMPLATE, "rds-logs", Compression::None)
            .expect("the default template is valid")
    }
}

impl KeyLayout {
    /// Parses `template`. `{instance}` and `{file}` are required: without
    /// them two files would share a key.
    pub fn new(template: &str, prefix: &str, compression: Compression) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        let stray = || format!("{template:?} has a '}}' without '{{'");
        while let Some(open) = rest.find('{') {
            if rest[..open].contains('}') {
                return Err(stray());
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("{template:?} has an unclosed '{{'"))?
                + open;
            parts.push(match &rest[open + 1..close] {
                "prefix" => Part::Prefix,
                "instance" => Part::Instance,
                "region" => Part::Region,
                "date" => Part::Date,
                "year" => Part::Year,
                "month" => Part::Month,
                "day" => Part::Day,
                "file" => Part::File,
                "version" => Part::Version,
                other => {
                    return Err(format!(
                        "{{{other}}} is not a placeholder (use prefix, instance, region, date, year, month, day, file, version)"
                    ));
                }
            });
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(stray());
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        for (required, name) in [(Part::Instance, "{instance}"), (Part::File, "{file}")] {
            if !parts.contains(&required) {
                return Err(format!("{template:?} lacks {name}"));
            }
        }
        Ok(Self {
            parts,
            prefix: prefix.trim_matches('/').to_owned(),
            compression,
        })
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The key of one file version. Empty segments (an empty prefix) are
    /// dropped, so keys never start with or contain `//`.
    pub fn key(&self, v: &LogFileVersion) -> String {
        self.render(v, "")
    }

    /// The key with `marker` where `{version}` stands, or before the
    /// compression suffix when the template has no `{version}`.
    fn render(&self, v: &LogFileVersion, marker: &str) -> String {
        let date = log_date(&v.file, v.version.last_written_ms);
        let mut key = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => key.push_str(text),
                Part::Prefix => key.push_str(&self.prefix),
                Part::Instance => key.push_str(&v.instance),
                Part::Region => key.push_str(v.region.as_deref().unwrap_or("default")),
                Part::Date => key.push_str(&date.to_string()),
                Part::Year => key.push_str(&format!("{:04}", date.year())),
                Part::Month => key.push_str(&format!("{:02}", date.month())),
                Part::Day => key.push_str(&format!("{:02}", date.day())),
                Part::File => key.push_str(&v.file),
                Part::Version => key.push_str(marker),
            }
        }
        let mut key: String = key
            .split('/')
            .filter(|segment| !segment.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        if !self.parts.contains(&Part::Version) {
            key.push_str(marker);
        }
        key.push_str(self.compression.suffix());
        key
    }

    /// The key of one file version, refused when it is longer than S3
    /// accepts: the lister never enqueues such a version and the worker
    /// never downloads one.
    pub fn checked_key(&self, v: &LogFileVersion) -> Result<String, Error> {
        within_limit(v, self.key(v))
    }

    /// The key of a version that does not extend the object at its key (a
    /// file rewritten, or a name RDS reused): `~<last written, UTC>-<size>`
    /// where `{version}` stands, else before the compression suffix, so the
    /// shipped object stays and the new content sits beside it.
    pub fn versioned_key(&self, v: &LogFileVersion) -> Result<String, Error> {
        let marker = format!(
            "~{}-{}",
            version_marker(v.version.last_written_ms),
            v.version.size
        );
        within_limit(v, self.render(v, &marker))
    }

    /// Whether `key` is the key of `v` or one of its versioned keys.
    pub fn is_key_of(&self, key: &str, v: &LogFileVersion) -> bool {
        // Rendered around a stand-in marker: what comes before and after it.
        let pattern = self.render(v, "~\u{1}");
        let Some((before, after)) = pattern.split_once('\u{1}') else {
            return false;
        };
        key == self.key(v)
            || (key.len() > before.len() + after.len()
                && key.starts_with(before)
                && key.ends_with(after))
    }
}

/// A last-written time as `20261129T235959.123Z`, readable and sortable.
fn version_marker(last_written_ms: i64) -> String {
    match Timestamp::from_millisecond(last_written_ms) {
        Ok(t) => {
            let d = t.to_zoned(TimeZone::UTC).datetime();
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
                d.subsec_nanosecond() / 1_000_000
            )
        }
        Err(_) => last_written_ms.to_string(),
    }
}

/// `key`, refused when it is longer than S3 accepts.
fn within_limit(v: &LogFileVersion, key: String) -> Result<String, Error> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::KeyTooLong {
            instance: v.instance.clone(),
            file: v.file.clone(),
            bytes: key.len(),
            key,
        });
    }
    Ok(key)
}

/// The day a log file belongs to: a date in its name when it has one (RDS
/// names PostgreSQL, Aurora, Oracle audit and many other logs by date),
/// else the UTC day it was last written. MySQL and MariaDB hourly files
/// (`.N`, named for the hour N they were rotated) belong to the day of
/// hour N-1, the hour they hold.
pub fn log_date(file: &str, last_written_ms: i64) -> Date {
    if let Some(date) = dashed_date(file).or_else(|| compact_date(file)) {
        return date;
    }
    let written = Timestamp::from_millisecond(last_written_ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(TimeZone::UTC);
    // RDS names an old-style MySQL/MariaDB hourly file `.N` for the hour it
    // was rotated, so it holds hour N-1 and was last written in that hour
    // (or a few seconds after the rotation): the day is that hour's day.
    let Some(rotated_at) = hour_suffix(file) else {
        return written.date();
    };
    let content_hour = (rotated_at + 23) % 24;
    let hours_back = (i32::from(written.hour()) - content_hour).rem_euclid(24);
    written
        .checked_sub(jiff::SignedDuration::from_hours(i64::from(hours_back)))
        .map_or_else(|_| written.date(), |z| z.date())
}

/// The first `YYYY-MM-DD` in the base name that is a real date.
fn dashed_date(file: &str) -> Option<Date> {
    let name = base_name(file).as_bytes();
    (0..name.len().saturating_sub(9)).find_map(|i| {
        let w = &name[i..i + 10];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        if !(digits(0..4) && w[4] == b'-' && digits(5..7) && w[7] == b'-' && digits(8..10)) {
            return None;
        }
        let before = i.checked_sub(1).map(|j| name[j]);
        if before.is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let text = std::str::from_utf8(w).ok()?;
        date(
            text[0..4].parse().ok()?,
            text[5..7].parse().ok()?,
            text[8..10].parse().ok()?,
        )
    })
}

/// A `YYYYMMDD` at the start of a run of at least eight digits, as in
/// Oracle audit files (`ORCL_ora_4242_20261120130501123456.aud`).
fn compact_date(file: &str) -> Option<Date> {
    let name = base_name(file);
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start >= 8 {
            let run = &name[start..start + 8];
            if let Some(d) = date(
                run[0..4].parse().ok()?,
                run[4..6].parse().ok()?,
                run[6..8].parse().ok()?,
            ) {
                return Some(d);
            }
        }
    }
    None
}

/// A plausible log date: a real calendar day since 1990.
fn date(year: i16, month: i8, day: i8) -> Option<Date> {
    (1990..=2200)
        .contains(&year)
        .then(|| Date::new(year, month, day).ok())
        .flatten()
}

/// N of a MySQL or MariaDB hourly file, `....log.N` with N from 0 to 23.
fn hour_suffix(file: &str) -> Option<i32> {
    let name = base_name(file);
    let (stem, n) = name.rsplit_once('.')?;
    if !stem.ends_with(".log")
        || n.is_empty()
        || n.len() > 2
        || !n.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let hourly = ["mysql-error", "mysql-slowquery", "mysql-general"]
        .iter()
        .any(|p| lower.contains(p));
    n.parse().ok().filter(|h| hourly && (0..24).contains(h))
}

fn base_name(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

#[cfg(test)]
mod tests {
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
        let plain =
            KeyLayout::new("{prefix}/{instance}/{file}", "logs", Compression::Gzip).unwrap();
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
}
