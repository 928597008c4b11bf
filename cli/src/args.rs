//! Value parsers shared by the commands' flags: DB instance identifiers,
//! regions and key=value tags, each by the shared rule (times are in `when`).

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
    shipper::fleet::parse_tag(text)
}
