//! The HTTP server: authentication, routing, `/_sim` control endpoints.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::faults::{Fault, FaultRule, Faults, RequestKind};
use crate::fleet::Fleet;
use crate::iam::{self, Iam, Identity, Target};
use crate::query::{self, ApiError, Scope};
use crate::sigv4::{self, AcceptedCredentials, SignedRequest};
use crate::snapshots::{self, Snapshots};
use crate::{download, rotation, xml};

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub root: std::path::PathBuf,
    /// An identity that may do anything.
    pub credentials: AcceptedCredentials,
    /// The account, and more identities, each optionally held to a policy.
    pub iam: Iam,
    /// Largest page `DescribeDBInstances` / `DescribeDBLogFiles` return, so
    /// tests can exercise paging with few files.
    pub page_size: usize,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
}

pub(crate) struct Shared {
    pub fleet: Fleet,
    /// Looked up in order: `SimConfig::iam`'s identities, then `credentials`.
    pub identities: Vec<Identity>,
    pub account_id: String,
    pub page_size: usize,
    pub faults: Arc<Faults>,
    pub snapshots: Snapshots,
}

impl Shared {
    /// The identity an access key id belongs to; the first one wins.
    fn identity(&self, access_key_id: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.credentials.access_key_id == access_key_id)
    }
}

/// A simulator serving in the background; stops when dropped.
pub struct RunningSim {
    pub addr: SocketAddr,
    pub faults: Arc<Faults>,
    fleet: Fleet,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RunningSim {
    /// The fleet it serves: rotate, rewrite and switch over its instances
    /// in process (`sim.fleet().rotate(..)`, see `rotation`).
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The endpoint URL to give the SDK (`AWS_ENDPOINT_URL_RDS`).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds and serves in a background task.
pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let faults = Arc::new(Faults::default());
    let mut identities = config.iam.identities;
    identities.push(Identity {
        name: "rds-sim".into(),
        credentials: config.credentials,
        policy: None,
    });
    let fleet = Fleet::new(config.root);
    let shared = Arc::new(Shared {
        fleet: fleet.clone(),
        identities,
        account_id: config.iam.account_id,
        page_size: config.page_size,
        faults: faults.clone(),
        snapshots: Snapshots::default(),
    });
    let app = Router::new().fallback(handle).with_state(shared);
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningSim {
        addr,
        faults,
        fleet,
        shutdown: Some(tx),
    })
}

fn request_id() -> String {
    format!("{:032x}", rand_u128())
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, RandomState};
    let a = RandomState::new().hash_one(SystemTime::now()) as u128;
    let b = RandomState::new().hash_one(std::thread::current().id()) as u128;
    (a << 64) | b
}

pub(crate) fn xml_response(status: u16, body: String, request_id: &str) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "text/xml")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

pub(crate) fn error_response(err: &ApiError) -> Response {
    let id = request_id();
    let body = xml::error(&err.code, &err.message, err.status < 500, &id);
    xml_response(err.status, body, &id)
}

/// The error a fault injects for a request, if it is an error-type fault.
pub(crate) fn fault_error(fault: &Fault) -> Option<ApiError> {
    match fault {
        Fault::Error {
            status,
            code,
            message,
        } => Some(ApiError::new(*status, code, message.clone())),
        Fault::Throttle => Some(ApiError::new(400, "Throttling", "Rate exceeded")),
        _ => None,
    }
}

const MAX_BODY: usize = 1024 * 1024;

async fn handle(State(sim): State<Arc<Shared>>, request: Request) -> Response {
    let latency = sim.faults.latency_ms();
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if path.starts_with("/_sim/") {
        let body = to_bytes(body, MAX_BODY).await.unwrap_or_default();
        return control(&sim, &parts.method, &path, &body);
    }
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::new(400, "InvalidRequest", e.to_string())),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let now = server_now(&sim.faults);
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path_and_query: &path_and_query,
        headers: &parts.headers,
        body: &body,
    };
    let lookup = |key: &str| sim.identity(key).map(|i| &i.credentials);
    let (region, signer) = match sigv4::verify_any(&signed, lookup, now) {
        Ok(verified) => verified,
        Err(failure) => {
            sim.faults.count("Rejected");
            let mut response = error_response(&ApiError::new(403, failure.code, failure.message));
            if let Ok(date) = HeaderValue::from_str(&httpdate_of(now)) {
                response.headers_mut().insert("date", date);
            }
            return response;
        }
    };
    let scope = Scope {
        region: &region,
        account: &sim.account_id,
    };
    let signer = sim
        .identity(&signer.access_key_id)
        .expect("the signer is known");
    let mut response = if let Err(denied) = authorize(signer, &parts.method, &path, &body, scope) {
        sim.faults.count("Denied");
        error_response(&denied)
    } else if parts.method == Method::GET && path.starts_with(download::PATH_PREFIX) {
        sim.faults.count("Download");
        download::serve(&sim, &path).await
    } else if parts.method == Method::GET && path.starts_with(download::RETIRED_PATH_PREFIX) {
        sim.faults.count("RetiredDownloadPath");
        download::retired()
    } else if parts.method == Method::POST && path == "/" {
        query_action(&sim, &body, scope)
    } else {
        error_response(&ApiError::new(
            404,
            "UnknownOperation",
            format!("{} {path}", parts.method),
        ))
    };
    if let Ok(date) = HeaderValue::from_str(&httpdate_of(now)) {
        response.headers_mut().insert("date", date);
    }
    response
}

/// Checks the request against the signer's policy, if it has one. Requests
/// the simulator does not route are left to answer `UnknownOperation`.
fn authorize(
    signer: &Identity,
    method: &Method,
    path: &str,
    body: &[u8],
    scope: Scope<'_>,
) -> Result<(), ApiError> {
    if signer.policy.is_none() {
        return Ok(());
    }
    let target = if *method == Method::GET
        && let Some(rest) = path.strip_prefix(download::PATH_PREFIX)
    {
        Target::download(rest, scope)
    } else if *method == Method::POST && path == "/" {
        Target::query(&query::parse_params(body), scope)
    } else {
        return Ok(());
    };
    iam::authorize(signer, scope.account, &target)
}

fn query_action(sim: &Shared, body: &[u8], scope: Scope<'_>) -> Response {
    let params = query::parse_params(body);
    let action = params.get("Action").cloned().unwrap_or_default();
    sim.faults.count(&action);
    if sim.faults.api_call_throttled() {
        sim.faults.count("Throttled");
        return error_response(&ApiError::new(400, "Throttling", "Rate exceeded"));
    }
    let instance = params.get("DBInstanceIdentifier").map(String::as_str);
    if let Some(fault) = sim.faults.take(RequestKind::Action {
        action: &action,
        instance,
    }) && let Some(err) = fault_error(&fault)
    {
        return error_response(&err);
    }
    let result = if snapshots::handles(&action) {
        sim.snapshots.run(&sim.fleet, &params, scope)
    } else {
        query::run(&sim.fleet, &params, scope, sim.page_size)
    };
    match result {
        Ok(result) => {
            let id = request_id();
            xml_response(200, xml::response(&action, &result, &id), &id)
        }
        Err(err) => error_response(&err),
    }
}

/// The simulator's clock, which tests can set ahead or behind.
fn server_now(faults: &Faults) -> SystemTime {
    let offset = faults.clock_offset_secs();
    let now = SystemTime::now();
    if offset >= 0 {
        now + Duration::from_secs(offset as u64)
    } else {
        now - Duration::from_secs(offset.unsigned_abs())
    }
}

fn httpdate_of(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap_or_default()
}

/// `/_sim/...`: unauthenticated control for tests and benchmarks, served on
/// loopback only.
fn control(sim: &Shared, method: &Method, path: &str, body: &[u8]) -> Response {
    let json = |value: serde_json::Value| {
        ([("content-type", "application/json")], value.to_string()).into_response()
    };
    let bad = |msg: String| (StatusCode::BAD_REQUEST, msg).into_response();
    if *method == Method::POST
        && let Some(answer) = rotation::control(&sim.fleet, path, body)
    {
        return match answer {
            Ok(value) => json(value),
            Err(e) => {
                let status = match e.kind() {
                    std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
                    std::io::ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                (status, e.to_string()).into_response()
            }
        };
    }
    match (method.as_str(), path) {
        ("POST", "/_sim/faults") => match serde_json::from_slice::<FaultRule>(body) {
            Ok(rule) => {
                sim.faults.add(rule);
                json(serde_json::json!({"ok": true}))
            }
            Err(e) => bad(format!("invalid fault rule: {e}")),
        },
        ("DELETE", "/_sim/faults") => {
            sim.faults.clear();
            json(serde_json::json!({"ok": true}))
        }
        ("GET", "/_sim/counters") => json(serde_json::json!(sim.faults.counters())),
        ("PUT", "/_sim/settings") => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) => {
                if let Some(s) = v.get("clock_offset_secs").and_then(|v| v.as_i64()) {
                    sim.faults.set_clock_offset_secs(s);
                }
                if let Some(ms) = v.get("latency_ms").and_then(|v| v.as_u64()) {
                    sim.faults.set_latency_ms(ms);
                }
                if let Some(on) = v.get("content_length").and_then(|v| v.as_bool()) {
                    sim.faults.set_content_length(on);
                }
                if let Some(limit) = v.get("api_rate_limit") {
                    match serde_json::from_value::<Option<crate::ApiRateLimit>>(limit.clone()) {
                        Ok(limit) => sim.faults.set_api_rate_limit(limit),
                        Err(e) => return bad(format!("invalid api_rate_limit: {e}")),
                    }
                }
                json(serde_json::json!({"ok": true}))
            }
            Err(e) => bad(format!("invalid settings: {e}")),
        },
        _ => (
            StatusCode::NOT_FOUND,
            Body::from("unknown control endpoint"),
        )
            .into_response(),
    }
}
