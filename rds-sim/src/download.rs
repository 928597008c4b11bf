//! `GET /v19/downloadCompleteLogFile/<instance>/<file>`: the whole file,
//! streamed in chunks, bytes untouched, with the injected faults applied.
//! The `/v13/` path RDS retires on 2027-03-01 is refused, so nothing can
//! depend on it again.

use std::io::SeekFrom;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::faults::{Fault, RequestKind};
use crate::query::ApiError;
use crate::server::{Shared, error_response, fault_error};

pub const PATH_PREFIX: &str = "/v19/downloadCompleteLogFile/";

/// The path RDS API versions before 2014-10-31 used; RDS stops serving it
/// after March 1, 2027 (RDS user guide, "Reading log file contents using REST").
pub const RETIRED_PATH_PREFIX: &str = "/v13/downloadCompleteLogFile/";

/// How the simulator answers the retired path: as RDS will once it is gone.
pub fn retired() -> Response {
    error_response(&ApiError::new(
        400,
        "InvalidAction",
        format!(
            "{RETIRED_PATH_PREFIX} was retired on 2027-03-01 with the RDS API versions \
             before 2014-10-31; use {PATH_PREFIX}"
        ),
    ))
}

const CHUNK: usize = 64 * 1024;

fn not_found(instance: &str, file: &str) -> ApiError {
    ApiError::new(
        404,
        "DBLogFileNotFoundFault",
        format!("DBLogFile {file} not found for DBInstance {instance}."),
    )
}

pub async fn serve(sim: &Shared, path: &str) -> Response {
    let rest = &path[PATH_PREFIX.len()..];
    let Some((instance, file)) = rest.split_once('/') else {
        return error_response(&ApiError::new(
            400,
            "InvalidParameterValue",
            "log file name is missing",
        ));
    };
    let (Ok(instance), Ok(file)) = (
        percent_decode_str(instance).decode_utf8(),
        percent_decode_str(file).decode_utf8(),
    ) else {
        return error_response(&ApiError::new(
            400,
            "InvalidParameterValue",
            "path is not UTF-8",
        ));
    };
    let fault = sim.faults.take(RequestKind::Download {
        instance: &instance,
        file: &file,
    });
    if let Some(err) = fault.as_ref().and_then(fault_error) {
        return error_response(&err);
    }
    match sim.fleet.instance(&instance) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return error_response(&ApiError::instance_not_found(&instance));
        }
        Err(e) => return error_response(&e.into()),
    }
    if matches!(fault, Some(Fault::Vanish)) {
        return error_response(&not_found(&instance, &file));
    }
    let path = match sim.fleet.log_file_path(&instance, &file) {
        Ok(p) => p,
        Err(_) => return error_response(&not_found(&instance, &file)),
    };
    let Ok(handle) = tokio::fs::File::open(&path).await else {
        return error_response(&not_found(&instance, &file));
    };
    let size = match handle.metadata().await {
        Ok(m) if m.is_file() => m.len(),
        _ => return error_response(&not_found(&instance, &file)),
    };
    let body = Body::from_stream(file_stream(handle, path, size, fault));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    if sim.faults.content_length() {
        headers.insert("content-length", HeaderValue::from(size));
    }
    response
}

struct Reading {
    handle: tokio::fs::File,
    path: std::path::PathBuf,
    sent: u64,
    fault: Option<Fault>,
    chunks: u64,
    /// With `Content-Length`, the body must not outgrow the announced size.
    limit: u64,
}

fn file_stream(
    handle: tokio::fs::File,
    path: std::path::PathBuf,
    size: u64,
    fault: Option<Fault>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    let limit = match fault {
        Some(Fault::GrowWhileRead { .. }) => u64::MAX,
        _ => size,
    };
    let state = Reading {
        handle,
        path,
        sent: 0,
        fault,
        chunks: 0,
        limit,
    };
    stream::try_unfold(state, |mut s| async move {
        if let Some(Fault::SlowBody { chunk_delay_ms }) = s.fault {
            tokio::time::sleep(Duration::from_millis(chunk_delay_ms)).await;
        }
        if s.chunks == 1
            && let Some(Fault::GrowWhileRead { bytes }) = s.fault
        {
            grow(&s.path, bytes).await?;
            s.handle.seek(SeekFrom::Start(s.sent)).await?;
        }
        if let Some(Fault::StallAfter { bytes }) = s.fault
            && s.sent >= bytes
        {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        let mut want = CHUNK.min((s.limit - s.sent).try_into().unwrap_or(CHUNK));
        if let Some(Fault::CutAfter { bytes } | Fault::StallAfter { bytes }) = s.fault {
            let cut = matches!(s.fault, Some(Fault::CutAfter { .. }));
            if cut && s.sent >= bytes {
                // Let the head and the bytes sent so far reach the client
                // first, so the cut is mid-body and not a failed request.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "injected cut",
                ));
            }
            want = want.min((bytes - s.sent) as usize);
        }
        if want == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; want];
        let n = s.handle.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        s.sent += n as u64;
        s.chunks += 1;
        Ok(Some((Bytes::from(buf), s)))
    })
}

/// Appends log-like lines to the file, as a database still writing would.
async fn grow(path: &std::path::Path, bytes: u64) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .await?;
    let line = b"2026-11-20 13:59:59 UTC::@:[42]:LOG:  appended while being read\n";
    let mut left = bytes as usize;
    while left > 0 {
        let n = left.min(line.len());
        file.write_all(&line[..n]).await?;
        left -= n;
    }
    file.flush().await
}
