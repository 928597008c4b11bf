//! What an error answer of the REST download says: its code and message,
//! and whether it is RDS refusing a skewed clock.

/// The `Code` and `Message` of an AWS XML error body, unescaped, read with
/// the SDK's own XML reader (the first of each, wherever they are nested).
pub(super) fn error_fields(body: &str) -> (Option<String>, Option<String>) {
    use aws_smithy_xml::decode::{Document, try_data};
    let mut doc = Document::new(body);
    let (mut code, mut message) = (None, None);
    while let Some(element) = doc.next_start_element() {
        let field = if element.matches("Code") {
            &mut code
        } else if element.matches("Message") {
            &mut message
        } else {
            continue;
        };
        if field.is_none() {
            *field = try_data(&mut doc.scoped_to(element))
                .ok()
                .map(|text| text.into_owned());
        }
    }
    (code, message)
}

pub(super) fn is_skew(status: u16, message: &str) -> bool {
    status == 403
        && (message.contains("Signature expired")
            || message.contains("not yet current")
            || message.contains("RequestTimeTooSkewed"))
}
