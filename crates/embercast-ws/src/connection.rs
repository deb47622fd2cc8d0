//! Drives a WebSocket over a `TcpStream` with readiness-based I/O.
//!
//! Reads go into a buffer on the stack of the polling thread, so a connection
//! waiting for data owns no read buffer; writes are queued into one buffer and
//! written with as few syscalls as possible, then the buffer is released.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;

use crate::close::{self, CloseCode};
use crate::decoder::{Decoder, Message, ProtocolError, Role};
use crate::frame::{self, OpCode};

/// Size of the on-stack read buffer.
const READ_CHUNK: usize = 8 * 1024;
/// Reads per call before yielding, so one busy peer cannot starve its writer.
const READS_PER_CALL: usize = 8;
/// A write buffer larger than this is freed rather than kept for reuse.
const KEEP_WRITE_BUFFER: usize = 0;

/// What [`Connection::read_messages`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The connection is open; wait for readiness again.
    Open,
    /// The peer sent a close frame (answered already) or hung up.
    Closed,
    /// The peer broke the protocol; a close frame with this error's code is queued.
    Failed(ProtocolError),
}

/// One WebSocket connection over TCP.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    decoder: Decoder,
    /// Bytes hyper had read past the upgrade request, decoded on the first read.
    leftover: Option<Bytes>,
    wbuf: Vec<u8>,
    wpos: usize,
    close_sent: bool,
    peer_gone: bool,
}

impl Connection {
    /// Wraps an upgraded stream. `leftover` holds bytes already read past the
    /// handshake; messages over `max_message_size` close the connection (1009).
    pub fn new(stream: TcpStream, leftover: Bytes, role: Role, max_message_size: usize) -> Self {
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            decoder: Decoder::new(role, max_message_size),
            leftover: (!leftover.is_empty()).then_some(leftover),
            wbuf: Vec::new(),
            wpos: 0,
            close_sent: false,
            peer_gone: false,
        }
    }

    /// The underlying stream (for peer address and socket options).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Waits until reading may make progress.
    pub async fn readable(&self) -> io::Result<()> {
        if self.leftover.is_some() {
            return Ok(());
        }
        self.stream.readable().await
    }

    /// Reads what is available and calls `on_message` for every text or binary
    /// message. Pings are answered, a close frame is answered once.
    pub fn read_messages(&mut self, mut on_message: impl FnMut(Message)) -> io::Result<ReadOutcome> {
        if self.peer_gone || self.decoder.is_closed() {
            return Ok(ReadOutcome::Closed);
        }
        let mut control = Vec::new();
        let mut sink = |m: Message| match m {
            Message::Text(_) | Message::Binary(_) => on_message(m),
            other => control.push(other),
        };
        if let Some(bytes) = self.leftover.take() {
            if let Err(e) = self.decoder.decode(&bytes, &mut sink) {
                return Ok(self.fail(e));
            }
        }
        let mut buf = [0u8; READ_CHUNK];
        let mut outcome = ReadOutcome::Open;
        for _ in 0..READS_PER_CALL {
            if self.decoder.is_closed() {
                break;
            }
            match self.stream.try_read(&mut buf) {
                Ok(0) => {
                    self.peer_gone = true;
                    outcome = ReadOutcome::Closed;
                    break;
                }
                Ok(n) => {
                    if let Err(e) = self.decoder.decode(&buf[..n], &mut sink) {
                        return Ok(self.fail(e));
                    }
                    if n < buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        for m in control {
            match m {
                Message::Ping(p) => self.queue_frame(OpCode::Pong, &p),
                Message::Close(frame) => {
                    // Echo the peer's code, as RFC 6455 §5.5.1 suggests.
                    let code = frame.map_or(CloseCode::NORMAL, |f| f.code);
                    self.queue_close(code, "");
                    outcome = ReadOutcome::Closed;
                }
                _ => {}
            }
        }
        Ok(outcome)
    }

    fn fail(&mut self, e: ProtocolError) -> ReadOutcome {
        self.queue_close(e.code, e.reason);
        ReadOutcome::Failed(e)
    }

    /// Queues one final frame carrying `payload`.
    pub fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        self.wbuf.reserve(frame::MAX_HEADER_LEN + payload.len());
        frame::write_header(&mut self.wbuf, opcode, payload.len(), None);
        self.wbuf.extend_from_slice(payload);
    }

    /// Queues a close frame; later frames are discarded.
    pub fn queue_close(&mut self, code: CloseCode, reason: &str) {
        if self.close_sent {
            return;
        }
        let payload = close::encode_payload(code, reason);
        self.queue_frame(OpCode::Close, &payload);
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

    /// Writes as much as the socket takes without blocking; `Ok(true)` once
    /// everything queued is written.
    pub fn flush(&mut self) -> io::Result<bool> {
        while self.wants_write() {
            match self.stream.try_write(&self.wbuf[self.wpos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.wpos = 0;
        if self.wbuf.capacity() > KEEP_WRITE_BUFFER {
            self.wbuf = Vec::new();
        } else {
            self.wbuf.clear();
        }
        Ok(true)
    }

    /// Waits until the socket accepts more bytes.
    pub async fn writable(&self) -> io::Result<()> {
        self.stream.writable().await
    }

    /// Finishes the connection: writes what is queued (a close frame, if the
    /// caller queued one), then waits up to `linger` for the peer's close frame
    /// or hang-up before dropping the socket.
    pub async fn finish(mut self, linger: Duration) {
        let _ = tokio::time::timeout(linger, async {
            while !self.flush()? {
                self.writable().await?;
            }
            while !self.peer_gone && !self.decoder.is_closed() {
                self.stream.readable().await?;
                self.read_messages(|_| {})?;
            }
            io::Result::Ok(())
        })
        .await;
    }
}
