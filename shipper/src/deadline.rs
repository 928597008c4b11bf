//! A Lambda invocation's deadline as time left.

use std::time::Duration;

/// Time left before `deadline_ms`, the invocation's deadline in Unix
/// milliseconds (the runtime API's `Lambda-Runtime-Deadline-Ms`). `None`
/// when it is not in the future: Lambda never sends such a deadline, and
/// local emulators send other things (cargo lambda sends the timeout
/// itself, `600000`); the handler then works without a budget.
pub fn time_left(deadline_ms: u64, now_ms: i64) -> Option<Duration> {
    let now_ms = u64::try_from(now_ms).ok()?;
    (deadline_ms > now_ms).then(|| Duration::from_millis(deadline_ms - now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_future_is_time_left_and_any_other_is_none() {
        let now = 1_796_000_000_000;
        assert_eq!(
            time_left(now as u64 + 300_000, now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(time_left(now as u64, now), None);
        // cargo lambda's runtime sends the timeout, not a time.
        assert_eq!(time_left(600_000, now), None);
    }
}
