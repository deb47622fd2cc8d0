//! Drives a WebSocket over any async byte stream.
//!
//! Reads go into a buffer on the stack of the polling thread, so a connection
//! waiting for data owns no read buffer; writes are queued into one buffer,
//! written with as few syscalls as possible, then the buffer is released.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::close::{self, CloseCode};
use crate::decoder::{Decoder, Message, ProtocolError, Role};
use crate::frame::{self, OpCode};

/// Size of the on-stack read buffer.
const READ_CHUNK: usize = 8 * 1024;
/// Reads per poll before yielding, so one busy peer cannot starve others.
const READS_PER_POLL: usize = 8;

/// What [`Connection::drive`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Data was read; the connection is open.
    Open,
    /// The peer sent a close frame (answered already) or hung up.
    Closed,
    /// The peer broke the protocol; a close frame with this error's code is queued.
    Failed(ProtocolError),
}

/// One WebSocket connection.
#[derive(Debug)]
pub struct Connection<S> {
    io: S,
    role: Role,
    decoder: Decoder,
    wbuf: Vec<u8>,
    wpos: usize,
    close_sent: bool,
    peer_gone: bool,
    /// The peer broke the protocol: what it sends next cannot be parsed, and
    /// is read only to be discarded (so closing does not reset the connection).
    failed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps an upgraded stream; messages over `max_message_size` bytes close
    /// the connection with 1009.
    pub fn new(io: S, role: Role, max_message_size: usize) -> Self {
        Connection {
            io,
            role,
            decoder: Decoder::new(role, max_message_size),
            wbuf: Vec::new(),
            wpos: 0,
            close_sent: false,
            peer_gone: false,
            failed: false,
        }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Writes what is queued and, if `read` is set, waits for data: returns
    /// once something was read (text and binary messages are appended to
    /// `out`), the peer hung up, or writing failed. Pings are answered and a
    /// close frame is answered once, without involving the caller.
    ///
    /// With `read` unset it only writes, and never returns while healthy.
    pub async fn drive(&mut self, read: bool, out: &mut Vec<Message>) -> io::Result<ReadOutcome> {
        poll_fn(|cx| self.poll_drive(cx, read, out)).await
    }

    /// Writes everything queued; returns once the write buffer is empty.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_queued(cx)).await
    }

    fn poll_drive(
        &mut self,
        cx: &mut Context<'_>,
        read: bool,
        out: &mut Vec<Message>,
    ) -> Poll<io::Result<ReadOutcome>> {
        if let Poll::Ready(Err(e)) = self.poll_write_queued(cx) {
            return Poll::Ready(Err(e));
        }
        if !read {
            return Poll::Pending;
        }
        if self.peer_gone || self.decoder.is_closed() {
            return Poll::Ready(Ok(ReadOutcome::Closed));
        }
        let mut buf = [0u8; READ_CHUNK];
        if self.failed {
            return self.poll_discard(cx, &mut buf);
        }
        let mut control = Vec::new();
        let mut outcome = None;
        for _ in 0..READS_PER_POLL {
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                Poll::Pending => break,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    self.peer_gone = true;
                    outcome = Some(ReadOutcome::Closed);
                    break;
                }
                Poll::Ready(Ok(())) => {
                    outcome = Some(ReadOutcome::Open);
                    let n = rb.filled().len();
                    let decoded = self.decoder.decode(&buf[..n], |m| match m {
                        Message::Text(_) | Message::Binary(_) => out.push(m),
                        other => control.push(other),
                    });
                    if let Err(e) = decoded {
                        self.failed = true;
                        self.queue_close(e.code, e.reason);
                        outcome = Some(ReadOutcome::Failed(e));
                        break;
                    }
                    if self.decoder.is_closed() || n < buf.len() {
                        break;
                    }
                }
            }
        }
        for m in control {
            match m {
                Message::Ping(p) => self.queue_frame(OpCode::Pong, &p),
                Message::Close(frame) => {
                    // Echo the peer's code, as RFC 6455 §5.5.1 suggests.
                    self.queue_close(frame.map_or(CloseCode::NORMAL, |f| f.code), "");
                    outcome = Some(ReadOutcome::Closed);
                }
                _ => {}
            }
        }
        match outcome {
            Some(o) => {
                // Start writing pongs and close replies right away.
                if let Poll::Ready(Err(e)) = self.poll_write_queued(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(o))
            }
            None => Poll::Pending,
        }
    }

    /// Reads and drops whatever the peer still sends after a protocol error,
    /// until it hangs up.
    fn poll_discard(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<ReadOutcome>> {
        loop {
            let mut rb = ReadBuf::new(buf);
            match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    self.peer_gone = true;
                    return Poll::Ready(Ok(ReadOutcome::Closed));
                }
                Poll::Ready(Ok(())) => {}
            }
        }
    }

    /// Writes queued bytes until done (`Ready(Ok)`) or the socket is full (`Pending`).
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.wpos < self.wbuf.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.wpos..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.wpos += n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if !self.wbuf.is_empty() {
            // Free the buffer: idle connections should not keep one.
            self.wbuf = Vec::new();
            self.wpos = 0;
            return Pin::new(&mut self.io).poll_flush(cx);
        }
        Poll::Ready(Ok(()))
    }

    /// Queues one final frame carrying `payload`; ignored after a close frame.
    pub fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        self.wbuf.reserve(frame::MAX_HEADER_LEN + payload.len());
        match self.role {
            // Server frames are never masked (RFC 6455 §5.1).
            Role::Server => {
                frame::write_header(&mut self.wbuf, opcode, payload.len(), None);
                self.wbuf.extend_from_slice(payload);
            }
            Role::Client => {
                let mask = frame::random_mask();
                frame::write_header(&mut self.wbuf, opcode, payload.len(), Some(mask));
                let start = self.wbuf.len();
                self.wbuf.extend_from_slice(payload);
                frame::apply_mask(&mut self.wbuf[start..], mask, 0);
            }
        }
    }

    /// Queues a close frame; later frames are discarded.
    pub fn queue_close(&mut self, code: CloseCode, reason: &str) {
        if self.close_sent {
            return;
        }
        self.queue_frame(OpCode::Close, &close::encode_payload(code, reason));
        self.close_sent = true;
    }

    /// Whether a close frame has been queued or sent.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether queued bytes are waiting to be written.
    pub fn wants_write(&self) -> bool {
        self.wpos < self.wbuf.len()
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Finishes the connection: writes what is queued (a close frame, if the
    /// caller queued one), then waits up to `linger` for the peer's close frame
    /// or hang-up, then shuts the stream down.
    ///
    /// After a protocol error the peer's next frames cannot be parsed, so the
    /// write side is shut right after the close frame and incoming bytes are
    /// discarded until the peer hangs up: closing a socket with unread data
    /// would reset the connection and lose the close frame (and its code).
    pub async fn finish(mut self, linger: Duration) {
        let _ = tokio::time::timeout(linger, async {
            poll_fn(|cx| self.poll_write_queued(cx)).await?;
            if self.failed {
                poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await?;
            }
            let mut sink = Vec::new();
            while !self.peer_gone && !self.decoder.is_closed() {
                self.drive(true, &mut sink).await?;
                sink.clear();
            }
            poll_fn(|cx| self.poll_write_queued(cx)).await
        })
        .await;
        let _ = tokio::time::timeout(linger, poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx))).await;
    }
}
