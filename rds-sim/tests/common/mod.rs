//! Raw HTTP for the integration tests: a simulator to call, SigV4-signed
//! calls as an SDK makes them, and unsigned calls to the `/_sim` control API.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use rds_sim::{AcceptedCredentials, Iam, RunningSim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The key the simulator accepts without a policy (may call anything).
pub const ADMIN_KEY: &str = "AKIDADMIN";
pub const ADMIN_SECRET: &str = "admin-secret";

/// A simulator over `fleet` that accepts the admin key and `iam`'s identities.
pub async fn start_sim(fleet: &std::path::Path, iam: Iam) -> RunningSim {
    rds_sim::start(SimConfig {
        root: fleet.to_path_buf(),
        credentials: AcceptedCredentials {
            access_key_id: ADMIN_KEY.into(),
            secret_access_key: ADMIN_SECRET.into(),
            session_token: None,
        },
        iam,
        page_size: 100,
        listen: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap()
}

/// Sends one request signed as `key`/`secret`; returns status and body.
pub async fn call(
    sim: &RunningSim,
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let host = sim.addr.to_string();
    let uri = format!("http://{host}{path}");
    let content_type = "application/x-www-form-urlencoded";
    let headers = [("content-type", content_type)];
    let signable = SignableRequest::new(
        method,
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let identity = Credentials::new(key, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("rds")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut request = http::Request::builder().uri(&uri).body(()).unwrap();
    sign(signable, &params)
        .unwrap()
        .into_parts()
        .0
        .apply_to_request_http1x(&mut request);
    let mut raw =
        format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n");
    for (name, value) in request.headers() {
        raw.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    raw.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    send(sim, &raw).await
}

/// Posts JSON to a control endpoint; returns status and the whole answer.
#[allow(dead_code)] // not every test file drives the control API
pub async fn control(sim: &RunningSim, path: &str, json: &serde_json::Value) -> (u16, String) {
    let body = json.to_string();
    let raw = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        sim.addr,
        body.len()
    );
    send(sim, &raw).await
}

/// Writes a whole HTTP/1.1 request and reads the answer to the close.
async fn send(sim: &RunningSim, raw: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    (answer[9..12].parse().unwrap(), answer)
}
