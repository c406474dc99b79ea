//! One-request streaming of a byte range (the memory image), read as [`AsyncRead`].
//!
//! QEMU restores from the stream while it arrives, so the whole range is asked for once
//! (VMNetX's "stream mode"). Failures before the first byte are retried like any range read;
//! once bytes have been handed to the consumer a retry could not be spliced in invisibly, so
//! a drop mid-body becomes a clear error naming how far the stream got.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use super::http_range::{retry, FetchError, RemoteFile};

/// The body of a range being streamed; yields an error if the server stops early.
pub struct RangeStream {
    rx: mpsc::Receiver<Result<Bytes, Arc<FetchError>>>,
    pending: Bytes,
    task: tokio::task::JoinHandle<()>,
    done: bool,
    received: Arc<AtomicU64>,
    total: u64,
}

impl Drop for RangeStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RemoteFile {
    /// Streams `offset..offset+len` in one request.
    pub async fn stream_range(
        self: &Arc<Self>,
        offset: u64,
        len: u64,
    ) -> Result<RangeStream, FetchError> {
        let resp = retry(self.options(), self.stats(), || {
            self.range_response(offset, len)
        })
        .await?;
        let (tx, rx) = mpsc::channel(16);
        let me = self.clone();
        let received = Arc::new(AtomicU64::new(0));
        let counter = received.clone();
        let task = tokio::spawn(async move {
            let mut got = 0u64;
            let mut body = resp.bytes_stream();
            while got < len {
                let piece = match body.next().await {
                    Some(Ok(p)) => p,
                    Some(Err(_)) | None => {
                        let e = FetchError::Truncated {
                            url: me.url().to_owned(),
                            got,
                            expected: len,
                        };
                        let _ = tx.send(Err(Arc::new(e))).await;
                        return;
                    }
                };
                let room = usize::try_from(len - got).unwrap_or(usize::MAX);
                let piece = piece.slice(..piece.len().min(room));
                got += piece.len() as u64;
                counter.store(got, Ordering::Relaxed);
                me.stats()
                    .bytes
                    .fetch_add(piece.len() as u64, Ordering::Relaxed);
                if tx.send(Ok(piece)).await.is_err() {
                    return;
                }
            }
        });
        Ok(RangeStream {
            rx,
            pending: Bytes::new(),
            task,
            done: false,
            received,
            total: len,
        })
    }
}

impl RangeStream {
    /// Bytes arrived so far and the total, for a loading-progress display (VMNetX showed an
    /// ETA while the memory image loaded). Cheap to clone and poll from another task.
    pub fn progress(&self) -> (Arc<AtomicU64>, u64) {
        (self.received.clone(), self.total)
    }
}

impl AsyncRead for RangeStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.pending.is_empty() && !self.done {
            match self.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(b))) => self.pending = b,
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Err(io::Error::other(e)));
                }
                Poll::Ready(None) => self.done = true,
            }
        }
        let n = self.pending.len().min(buf.remaining());
        let head = self.pending.split_to(n);
        buf.put_slice(&head);
        Poll::Ready(Ok(()))
    }
}
