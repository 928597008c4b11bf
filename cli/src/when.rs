//! Times on the command line: RFC 3339, a date or date-time taken as UTC,
//! `now`, or relative to now ("2h ago", "-1d", "in 30m", "+90s").

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// A clap value parser: the time relative to the moment of parsing.
pub fn arg(text: &str) -> Result<i64, String> {
    parse(text, Timestamp::now())
}

/// Milliseconds since the Unix epoch of a time given on the command line.
pub fn parse(text: &str, now: Timestamp) -> Result<i64, String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if lower == "now" {
        return Ok(now.as_millisecond());
    }
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t.as_millisecond());
    }
    // "2024-02-04 13:00:00 UTC", as the rdsrecorder seed writes times.
    let civil = lower.strip_suffix(" utc").unwrap_or(&lower).trim();
    let as_utc = |dt: DateTime| {
        dt.to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
    };
    if let Ok(dt) = civil.parse::<DateTime>() {
        return as_utc(dt).map_err(|e| e.to_string());
    }
    if let Ok(date) = civil.parse::<Date>() {
        return as_utc(date.to_datetime(jiff::civil::Time::midnight())).map_err(|e| e.to_string());
    }
    relative(&lower, now)
}

fn relative(text: &str, now: Timestamp) -> Result<i64, String> {
    let (span_text, explicit) = match text.strip_prefix("in ") {
        Some(rest) => (rest.trim(), true),
        None => (text, text.starts_with(['+', '-']) || text.ends_with(" ago")),
    };
    let span: Span = span_text.parse().map_err(|_| {
        format!(
            "{text:?} is not a time: give RFC 3339 (2026-11-20T13:00:00Z), a UTC date or \
             date-time (2026-11-20, 2026-11-20 13:00), now, or a relative time (2h ago, in 30m)"
        )
    })?;
    if !explicit {
        return Err(format!(
            "{text:?} has no direction: say \"{text} ago\" or \"in {text}\""
        ));
    }
    // In UTC every day has 24 hours; months and years follow the calendar.
    now.to_zoned(TimeZone::UTC)
        .checked_add(span)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-20T13:00:00Z".parse().unwrap()
    }

    fn at(text: &str) -> String {
        let ms = parse(text, now()).unwrap();
        Timestamp::from_millisecond(ms).unwrap().to_string()
    }

    #[test]
    fn absolute_times_in_rfc3339_or_utc_civil_forms() {
        assert_eq!(at("2026-11-19T08:30:00Z"), "2026-11-19T08:30:00Z");
        assert_eq!(at("2026-11-19T09:30:00+01:00"), "2026-11-19T08:30:00Z");
        assert_eq!(at("2026-11-19"), "2026-11-19T00:00:00Z");
        assert_eq!(at("2026-11-19 08:30"), "2026-11-19T08:30:00Z");
        assert_eq!(at("2026-11-19 08:30:00.000 UTC"), "2026-11-19T08:30:00Z");
        assert_eq!(at("now"), "2026-11-20T13:00:00Z");
    }

    #[test]
    fn relative_times_need_a_direction() {
        assert_eq!(at("2h ago"), "2026-11-20T11:00:00Z");
        assert_eq!(at("1 day ago"), "2026-11-19T13:00:00Z");
        assert_eq!(at("-90m"), "2026-11-20T11:30:00Z");
        assert_eq!(at("in 30s"), "2026-11-20T13:00:30Z");
        assert_eq!(at("+1d"), "2026-11-21T13:00:00Z");
        let err = parse("2h", now()).unwrap_err();
        assert!(err.contains("2h ago"), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_the_accepted_forms() {
        let err = parse("yesterday-ish", now()).unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }
}
