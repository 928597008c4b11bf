//! Value parsers shared by the commands' flags: DB instance identifiers and
//! key=value tags (times are in `when`).

/// A DB instance identifier, checked by RDS's rules.
pub fn instance_id(text: &str) -> Result<String, String> {
    shipper::message::validate_instance(text).map(|()| text.to_owned())
}

/// An AWS region name.
pub fn region(text: &str) -> Result<String, String> {
    shipper::message::validate_region(text).map(|()| text.to_owned())
}

/// `key=value`, trimmed; the value may be empty.
pub fn tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("{text:?} is not key=value")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_need_a_key() {
        assert_eq!(
            super::tag(" ticket = OPS-7 ").unwrap(),
            ("ticket".into(), "OPS-7".into())
        );
        assert!(super::tag("=x").is_err());
        assert!(super::tag("novalue").is_err());
        assert_eq!(super::tag("k=").unwrap(), ("k".into(), String::new()));
    }
}
