//! Compression on the fly: the log stream goes through a gzip or zstd
//! encoder chunk by chunk, so memory stays bounded whatever the file size
//! and the stored bytes (what S3's CRC32C covers) are produced as they go.

use std::io;

use async_compression::Level;
use async_compression::tokio::bufread::{GzipEncoder, ZstdEncoder};
use futures_util::StreamExt;
use tokio::io::AsyncRead;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::error::Error;
use crate::layout::Compression;
use crate::rds::LogStream;

/// Encoded chunks are at most this large.
const CHUNK: usize = 64 * 1024;

/// `body`, encoded as `compression` says. An error of the source stream
/// comes out unchanged (a truncated download stays a truncated download).
pub fn compress(body: LogStream, compression: Compression) -> LogStream {
    match compression {
        Compression::None => body,
        // Level 1: most of gzip's size reduction on log text at a fraction
        // of the default level's CPU (the worker's cost is its CPU time).
        Compression::Gzip => encode(body, |r| GzipEncoder::with_quality(r, Level::Fastest)),
        // zstd frames carry no checksum unless asked; gzip's always does.
        Compression::Zstd => encode(body, |r| {
            ZstdEncoder::with_quality_and_params(
                r,
                Level::Default,
                &[async_compression::zstd::CParameter::checksum_flag(true)],
            )
        }),
    }
}

type Source =
    StreamReader<futures_util::stream::BoxStream<'static, io::Result<bytes::Bytes>>, bytes::Bytes>;

fn encode<E>(body: LogStream, encoder: impl FnOnce(Source) -> E) -> LogStream
where
    E: AsyncRead + Send + 'static,
{
    let source: Source =
        StreamReader::new(body.map(|chunk| chunk.map_err(io::Error::other)).boxed());
    Box::pin(
        ReaderStream::with_capacity(encoder(source), CHUNK)
            .map(|chunk| chunk.map_err(unwrap_error)),
    )
}

/// The pipeline's own error back out of the `io::Error` it travelled in.
fn unwrap_error(e: io::Error) -> Error {
    let message = e.to_string();
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(original)) => *original,
        _ => Error::Compression(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
    use bytes::Bytes;
    use tokio::io::AsyncReadExt;

    fn source(parts: Vec<Result<Bytes, Error>>) -> LogStream {
        Box::pin(futures_util::stream::iter(parts))
    }

    async fn collect(mut body: LogStream) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn gzip_and_zstd_decode_to_the_source_bytes() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| {
                format!("2026-11-20 13:00:{:02} UTC LOG: ✓ statement {i}\n", i % 60).into_bytes()
            })
            .collect();
        let chunks = || {
            text.chunks(7_777)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect()
        };
        let gz = collect(compress(source(chunks()), Compression::Gzip))
            .await
            .unwrap();
        let zst = collect(compress(source(chunks()), Compression::Zstd))
            .await
            .unwrap();
        assert!(
            gz.len() < text.len() / 4,
            "gzip {} of {}",
            gz.len(),
            text.len()
        );
        let mut plain = Vec::new();
        GzipDecoder::new(&gz[..])
            .read_to_end(&mut plain)
            .await
            .unwrap();
        assert_eq!(plain, text);
        plain.clear();
        ZstdDecoder::new(&zst[..])
            .read_to_end(&mut plain)
            .await
            .unwrap();
        assert_eq!(plain, text);
        let none = collect(compress(source(chunks()), Compression::None))
            .await
            .unwrap();
        assert_eq!(none, text);
    }

    #[tokio::test]
    async fn a_source_error_comes_out_as_itself() {
        let body = source(vec![
            Ok(Bytes::from_static(b"some bytes")),
            Err(Error::LogFileGone {
                instance: "db".into(),
                file: "a.log".into(),
                reason: "deleted".into(),
            }),
        ]);
        let err = collect(compress(body, Compression::Gzip))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::LogFileGone { .. }), "{err:?}");
    }
}
