//! Cutting a log stream that is late: the one shape behind the worker's
//! deadline and the download's idle timeout.

use futures_util::StreamExt;
use tokio::time::Instant;

use super::LogStream;
use crate::error::Error;

/// Passes `body` through, and ends it with `cut(bytes received)` when its
/// next chunk has not come by `due()`, asked before each chunk: a fixed
/// deadline, or an idle time from now.
pub fn cut_when_late(
    body: LogStream,
    due: impl Fn() -> Instant + Send + Sync + 'static,
    cut: impl Fn(u64) -> Error + Send + Sync + 'static,
) -> LogStream {
    let rules = std::sync::Arc::new((due, cut));
    Box::pin(futures_util::stream::unfold(
        (body, 0u64, false),
        move |(mut body, received, ended)| {
            let rules = rules.clone();
            async move {
                if ended {
                    return None;
                }
                let (due, cut) = &*rules;
                match tokio::time::timeout_at(due(), body.next()).await {
                    Ok(Some(Ok(chunk))) => {
                        let received = received + chunk.len() as u64;
                        Some((Ok(chunk), (body, received, false)))
                    }
                    Ok(Some(Err(e))) => Some((Err(e), (body, received, true))),
                    Ok(None) => None,
                    Err(_) => Some((Err(cut(received)), (body, received, true))),
                }
            }
        },
    ))
}
