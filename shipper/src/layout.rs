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
mod tests;
