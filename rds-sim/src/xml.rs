//! Writing the XML that aws-sdk-rds parses (awsQuery protocol).

use std::fmt::Write;

pub const NAMESPACE: &str = "http://rds.amazonaws.com/doc/2014-10-31/";

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Appends `<name>text</name>`.
pub fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

/// A complete `<ActionResponse>` document around `result` (the inner XML).
pub fn response(action: &str, result: &str, request_id: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )
}

/// An AWS query-protocol `ErrorResponse` document.
pub fn error(code: &str, message: &str, sender: bool, request_id: &str) -> String {
    let kind = if sender { "Sender" } else { "Receiver" };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(code),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_in_names() {
        assert_eq!(super::escape("a<&>\"'b"), "a&lt;&amp;&gt;&quot;&apos;b");
    }
}
