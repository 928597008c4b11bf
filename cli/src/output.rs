//! Presentation shared by the commands: plain tables, times, ages, sizes
//! and progress bars on stderr (drawn only on a terminal, never with --json).

use std::time::Duration;

use comfy_table::{Cell, CellAlignment, Table, presets};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::{SignedDuration, Span, SpanRound, Timestamp, Unit};
use shipper::error::FIX_MARK;

/// A borderless table with a header row; numeric columns align right.
pub fn table(header: &[&str], right_aligned: &[usize]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(header.iter().map(|h| Cell::new(h.to_uppercase())));
    for &i in right_aligned {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Prints a value as pretty JSON on stdout.
pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An epoch-milliseconds time as RFC 3339 in UTC, to the second.
pub fn time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.round(Unit::Second).unwrap_or(t).to_string())
        .unwrap_or_else(|_| format!("{ms} ms"))
}

/// An optional time, or "-".
pub fn time_or_dash(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_owned(), time)
}

/// A duration in the two largest units that matter ("3d 4h", "5m 10s").
pub fn age(ms: i64) -> String {
    let smallest = match ms.abs() {
        m if m >= 86_400_000 => Unit::Hour,
        m if m >= 3_600_000 => Unit::Minute,
        _ => Unit::Second,
    };
    let rounded = Span::try_from(SignedDuration::from_millis(ms)).and_then(|span| {
        span.round(
            SpanRound::new()
                .largest(Unit::Day)
                .smallest(smallest)
                .days_are_24_hours(),
        )
    });
    match rounded {
        Ok(span) if span.is_zero() => "0s".to_owned(),
        Ok(span) => format!("{span:#}"),
        Err(_) => format!("{ms} ms"),
    }
}

/// An optional age, or "-".
pub fn age_or_dash(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_owned(), age)
}

pub fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

/// A count with its noun, singular for one: "1 file", "3 files".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// An error for the terminal: each cause once, and what to do on a line of
/// its own (the text keeps it on one line for logs, tables and records).
pub fn error_text(error: &anyhow::Error) -> String {
    let text = shipper::error::causes(error.as_ref());
    match text.split_once(FIX_MARK) {
        Some((what, fix)) if !fix.contains(FIX_MARK) => format!("{what}\n  to fix: {fix}"),
        _ => text,
    }
}

/// Keeps the last `max` characters on one line: an error's cause comes last.
pub fn clip_front(text: &str, max: usize) -> String {
    let line = text.replace(['\n', '\r'], " ");
    let count = line.chars().count();
    if count <= max {
        line
    } else {
        let tail: String = line.chars().skip(count + 1 - max).collect();
        format!("…{tail}")
    }
}

/// A progress bar of `len` steps on stderr; hidden when `quiet` or when
/// stderr is not a terminal.
pub fn bar(len: u64, message: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target(quiet));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    bar
}

/// A spinner with a running count, for work of unknown length.
pub fn spinner(message: &str, quiet: bool) -> ProgressBar {
    ticking("{spinner} {msg} {pos} ({elapsed})", message, quiet)
}

/// A spinner without a count, for one long wait.
pub fn waiting(message: &str, quiet: bool) -> ProgressBar {
    ticking("{spinner} {msg} ({elapsed})", message, quiet)
}

fn ticking(template: &str, message: &str, quiet: bool) -> ProgressBar {
    let spinner = ProgressBar::with_draw_target(None, target(quiet));
    spinner.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(message.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

fn target(quiet: bool) -> ProgressDrawTarget {
    if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_show_the_two_largest_units() {
        assert_eq!(age(0), "0s");
        assert_eq!(age(75_000), "1m 15s");
        assert_eq!(age(3 * 3_600_000 + 61_000), "3h 1m");
        assert_eq!(age(2 * 86_400_000 + 5 * 3_600_000 + 59_000), "2d 5h");
    }

    #[test]
    fn times_are_rfc3339_utc_to_the_second() {
        assert_eq!(time(1_763_643_600_400), "2025-11-20T13:00:00Z");
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(2, "failed attempt"), "2 failed attempts");
    }

    #[test]
    fn an_error_says_each_cause_once_and_the_fix_on_its_own_line() {
        let missing = shipper::error::AwsError::from_code("ResourceNotFoundException", "gone")
            .in_call(shipper::error::AwsCall {
                action: "dynamodb:Scan",
                resource: "table t",
            });
        let error = anyhow::Error::new(shipper::Error::State {
            table: "t".into(),
            op: "Scan",
            source: missing,
        });
        assert_eq!(
            error_text(&error),
            "DynamoDB Scan on state table t failed: ResourceNotFoundException: gone\n  \
             to fix: table t does not exist in this account and region: check the name and \
             AWS_REGION, deploy the stack or run `rdslogs setup`"
        );
        // Several fixes (a cycle's problems) stay as they are.
        let two = anyhow::anyhow!("a; to fix: x; b; to fix: y");
        assert_eq!(error_text(&two), "a; to fix: x; b; to fix: y");
    }

    #[test]
    fn tables_align_by_display_width() {
        let mut t = table(&["file", "size"], &[1]);
        t.add_row(vec!["ログ.log".to_owned(), bytes(1024)]);
        t.add_row(vec!["a.log".to_owned(), bytes(10)]);
        // Each kana is two columns wide: the size column starts at the same
        // place on every line.
        assert_eq!(
            t.to_string(),
            " FILE          SIZE \n ログ.log  1.00 KiB \n a.log         10 B "
        );
    }

    #[test]
    fn clip_front_keeps_the_end_on_one_line() {
        assert_eq!(clip_front("a\nb", 10), "a b");
        assert_eq!(clip_front("abcdef", 4), "…def");
        assert_eq!(clip_front("abc", 4), "abc");
    }
}
