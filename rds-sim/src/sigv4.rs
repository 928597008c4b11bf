//! Verifies the SigV4 signature of every request, as RDS does: the expected
//! signature is recomputed with `aws-sigv4` from the configured secret.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use http::HeaderMap;

/// Credentials the simulator accepts.
#[derive(Debug, Clone)]
pub struct AcceptedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// When set, requests must carry exactly this `X-Amz-Security-Token`.
    pub session_token: Option<String>,
}

/// Why a request was refused; rendered as an AWS `ErrorResponse` with HTTP 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub code: &'static str,
    pub message: String,
}

fn fail(code: &'static str, message: impl Into<String>) -> AuthFailure {
    AuthFailure {
        code,
        message: message.into(),
    }
}

/// How far a request's time may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The parts of a request that the signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Path and query exactly as received (still percent-encoded).
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthFailure> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        fail(
            "IncompleteSignature",
            "Authorization is not AWS4-HMAC-SHA256",
        )
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = || fail("IncompleteSignature", "Authorization header is incomplete");
    let credential = credential.ok_or_else(missing)?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(fail("IncompleteSignature", "malformed credential scope"));
    }
    Ok(Authorization {
        access_key: scope[0],
        date: scope[1],
        region: scope[2],
        service: scope[3],
        signed_headers: signed.ok_or_else(missing)?.split(';').collect(),
        signature: signature.ok_or_else(missing)?,
    })
}

/// `20261123T010203Z` to a point in time.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    if value.len() != 16 || !value.is_ascii() {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &value[0..4],
        &value[4..6],
        &value[6..8],
        &value[9..11],
        &value[11..13],
        &value[13..15]
    );
    DateTime::from_str(&iso, Format::DateTime)
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
}

/// Checks the request's signature against `accepted` at server time `now`.
/// Returns the region the request was signed for.
pub fn verify(
    request: &SignedRequest<'_>,
    accepted: &AcceptedCredentials,
    now: SystemTime,
) -> Result<String, AuthFailure> {
    let only = |key: &str| (key == accepted.access_key_id).then_some(accepted);
    verify_any(request, only, now).map(|(region, _)| region)
}

/// [`verify`] for several accepted identities: `lookup` finds the
/// credentials of the request's access key id. Returns the region and the
/// credentials that signed the request.
pub fn verify_any<'a>(
    request: &SignedRequest<'_>,
    lookup: impl Fn(&str) -> Option<&'a AcceptedCredentials>,
    now: SystemTime,
) -> Result<(String, &'a AcceptedCredentials), AuthFailure> {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let auth = parse_authorization(header("authorization").ok_or_else(|| {
        fail(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    })?)?;
    let accepted = lookup(auth.access_key).ok_or_else(|| {
        fail(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    })?;
    if auth.service != "rds" {
        return Err(fail(
            "SignatureDoesNotMatch",
            format!(
                "Credential should be scoped to correct service: 'rds', not '{}'",
                auth.service
            ),
        ));
    }
    let amz_date =
        header("x-amz-date").ok_or_else(|| fail("IncompleteSignature", "missing X-Amz-Date"))?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        fail(
            "IncompleteSignature",
            format!("X-Amz-Date {amz_date:?} is not valid"),
        )
    })?;
    if !amz_date.starts_with(auth.date) {
        return Err(fail(
            "SignatureDoesNotMatch",
            "credential date does not match X-Amz-Date",
        ));
    }
    let server_date = DateTime::from(now)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    match now.duration_since(signed_at) {
        Ok(behind) if behind > MAX_SKEW => {
            return Err(fail(
                "SignatureDoesNotMatch",
                format!(
                    "Signature expired: {amz_date} is now earlier than {server_date} minus 15 min."
                ),
            ));
        }
        Err(ahead) if ahead.duration() > MAX_SKEW => {
            return Err(fail(
                "SignatureDoesNotMatch",
                format!(
                    "Signature not yet current: {amz_date} is still later than {server_date} plus 15 min."
                ),
            ));
        }
        _ => {}
    }
    let token = header("x-amz-security-token");
    if let Some(expected) = &accepted.session_token {
        if token != Some(expected.as_str()) {
            return Err(fail(
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ));
        }
        if !auth.signed_headers.contains(&"x-amz-security-token") {
            return Err(fail(
                "SignatureDoesNotMatch",
                "X-Amz-Security-Token must be signed",
            ));
        }
    }

    // Recompute the signature over exactly the headers the client signed.
    // host, x-amz-date and the token are added back by the signer itself.
    let mut signed_values = Vec::new();
    for name in &auth.signed_headers {
        if matches!(*name, "host" | "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        let value = header(name).ok_or_else(|| {
            fail(
                "SignatureDoesNotMatch",
                format!("signed header {name} is missing"),
            )
        })?;
        signed_values.push((*name, value));
    }
    let host = header("host").ok_or_else(|| fail("IncompleteSignature", "missing Host"))?;
    let uri = format!("http://{host}{}", request.path_and_query);
    let body = match header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => SignableBody::UnsignedPayload,
        _ => SignableBody::Bytes(request.body),
    };
    let signable = SignableRequest::new(request.method, uri, signed_values.into_iter(), body)
        .map_err(|e| {
            fail(
                "SignatureDoesNotMatch",
                format!("cannot canonicalise request: {e}"),
            )
        })?;
    let identity = Credentials::new(
        &accepted.access_key_id,
        &accepted.secret_access_key,
        token.map(str::to_owned),
        None,
        "rds-sim",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name("rds")
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|e| fail("SignatureDoesNotMatch", e.to_string()))?
        .into();
    let expected = sign(signable, &params)
        .map_err(|e| fail("SignatureDoesNotMatch", e.to_string()))?
        .signature()
        .to_owned();
    if expected != auth.signature {
        return Err(fail(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ));
    }
    Ok((auth.region.to_owned(), accepted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::SigningParams;

    fn accepted() -> AcceptedCredentials {
        AcceptedCredentials {
            access_key_id: "AKIDSIM".into(),
            secret_access_key: "sim-secret".into(),
            session_token: Some("sim-token".into()),
        }
    }

    fn signed_headers(secret: &str, token: Option<&str>, at: SystemTime) -> HeaderMap {
        let identity =
            Credentials::new("AKIDSIM", secret, token.map(str::to_owned), None, "t").into();
        let params: SigningParams = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("rds")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let uri = "http://sim.local/v19/downloadCompleteLogFile/db/error/a%20b.log";
        let signable =
            SignableRequest::new("GET", uri, std::iter::empty(), SignableBody::Bytes(&[])).unwrap();
        let mut req = http::Request::builder().uri(uri).body(()).unwrap();
        sign(signable, &params)
            .unwrap()
            .into_parts()
            .0
            .apply_to_request_http1x(&mut req);
        let mut headers = req.headers().clone();
        headers.insert("host", "sim.local".parse().unwrap());
        headers
    }

    fn check(headers: &HeaderMap, now: SystemTime) -> Result<String, AuthFailure> {
        let request = SignedRequest {
            method: "GET",
            path_and_query: "/v19/downloadCompleteLogFile/db/error/a%20b.log",
            headers,
            body: &[],
        };
        verify(&request, &accepted(), now)
    }

    #[test]
    fn accepts_a_correct_signature_and_reports_its_region() {
        let now = SystemTime::now();
        assert_eq!(
            check(&signed_headers("sim-secret", Some("sim-token"), now), now).unwrap(),
            "eu-west-1"
        );
    }

    #[test]
    fn rejects_wrong_secret_missing_token_and_skewed_clock() {
        let now = SystemTime::now();
        assert_eq!(
            check(&signed_headers("wrong", Some("sim-token"), now), now)
                .unwrap_err()
                .code,
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            check(&signed_headers("sim-secret", None, now), now)
                .unwrap_err()
                .code,
            "InvalidClientTokenId"
        );
        let later = now + Duration::from_secs(16 * 60);
        let err = check(&signed_headers("sim-secret", Some("sim-token"), now), later).unwrap_err();
        assert!(err.message.starts_with("Signature expired"), "{err:?}");
    }
}
