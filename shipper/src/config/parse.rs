//! Reading one setting: required, a URL, a flag, a number in range; every
//! error names the variable.

use crate::error::Error;

pub(super) fn invalid(name: &'static str, reason: &str) -> Error {
    Error::Config {
        name,
        reason: reason.to_owned(),
    }
}

pub(super) fn required(name: &'static str, value: &Option<String>) -> Result<String, Error> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| invalid(name, "is not set"))
}

pub(super) fn url(name: &'static str, value: String) -> Result<String, Error> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value)
    } else {
        Err(invalid(name, &format!("{value:?} is not an http(s) URL")))
    }
}

pub(super) fn flag(name: &'static str, value: &Option<String>) -> Result<bool, Error> {
    match value
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(invalid(name, &format!("{other:?} is not true or false"))),
    }
}

pub(super) fn number(
    name: &'static str,
    value: &Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, Error> {
    let Some(text) = value else {
        return Ok(default);
    };
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|_| invalid(name, &format!("{text:?} is not a whole number")))?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(invalid(
            name,
            &format!("{n} is outside {}..={}", range.start(), range.end()),
        ))
    }
}
