//! A raw HTTP/1.1 client: sends bytes as given and reads responses exactly as they come
//! (status line, headers in order, chunked or not).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

#[derive(Debug)]
pub(super) struct RawResponse {
    pub(super) status_line: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) chunked: bool,
}

impl RawResponse {
    pub(super) fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

pub(super) struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub(super) fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub(super) fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).unwrap();
    }

    pub(super) fn post(&mut self, path: &str, body: &str) -> RawResponse {
        self.send(post_request(path, body).as_bytes());
        self.read_response()
    }

    /// Reads more bytes; returns how many (0 at end of stream).
    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 64 * 1024];
        let n = match self.stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed: {e}"),
        };
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill() > 0, "connection closed in the middle of a body");
        }
        self.buf.drain(..n).collect()
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(pos + 2);
                return String::from_utf8(line[..pos].to_vec()).unwrap();
            }
            assert!(self.fill() > 0, "connection closed before a full line");
        }
    }

    pub(super) fn read_response(&mut self) -> RawResponse {
        loop {
            let status_line = self.line();
            let mut headers = Vec::new();
            loop {
                let line = self.line();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').expect("header without colon");
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
            let mut response = RawResponse {
                status_line,
                headers,
                body: Vec::new(),
                chunked: false,
            };
            let status = response.status();
            if status == 100 {
                continue;
            }
            let chunked = response
                .header("transfer-encoding")
                .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
            if chunked {
                response.chunked = true;
                loop {
                    let size = usize::from_str_radix(self.line().trim(), 16).unwrap();
                    if size == 0 {
                        while !self.line().is_empty() {}
                        break;
                    }
                    let data = self.take(size);
                    response.body.extend_from_slice(&data);
                    assert!(self.line().is_empty());
                }
            } else if let Some(len) = response.header("content-length") {
                let len = len.parse().unwrap();
                response.body = self.take(len);
            } else if !(status == 204 || status == 304) {
                while self.fill() > 0 {}
                response.body = std::mem::take(&mut self.buf);
            }
            return response;
        }
    }

    /// Whether the server has closed the connection (nothing more to read).
    pub(super) fn closed(&mut self) -> bool {
        self.buf.is_empty() && self.fill() == 0
    }
}

pub(super) fn post_request(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dTpw\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
