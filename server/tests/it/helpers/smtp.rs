//! A real SMTP server on loopback for the tests: it speaks the protocol over TCP (EHLO, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT) and keeps every message it accepts. lettre talks to it exactly
//! as to a relay; only TLS is left out (`?tls=none`, loopback only).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

pub struct SmtpSink {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start(addr: SocketAddr) -> Self {
        Self::start_slow(addr, std::time::Duration::ZERO).await
    }

    /// A relay that refuses every recipient for good (`550`, as for a mailbox that does not
    /// exist).
    pub async fn start_refusing(addr: SocketAddr) -> Self {
        Self::start_with(
            addr,
            std::time::Duration::ZERO,
            b"550 5.1.1 Buzon inexistente\r\n",
        )
        .await
    }

    /// A relay that takes `delay` to acknowledge each message (so a test can act mid-delivery).
    pub async fn start_slow(addr: SocketAddr, delay: std::time::Duration) -> Self {
        Self::start_with(addr, delay, b"250 OK\r\n").await
    }

    async fn start_with(
        addr: SocketAddr,
        delay: std::time::Duration,
        rcpt_reply: &'static [u8],
    ) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind SMTP sink");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(stream, store, delay, rcpt_reply).await;
                });
            }
        });
        SmtpSink {
            addr,
            received,
            task,
        }
    }

    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }

    /// The `To:` address of every message accepted, in order.
    pub fn recipients(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter_map(|m| {
                String::from_utf8_lossy(m)
                    .lines()
                    .find_map(|l| l.strip_prefix("To: ").map(|t| t.trim().to_owned()))
            })
            .collect()
    }

    /// Stops accepting connections (the relay "goes down").
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Vec<u8>>>>,
    delay: std::time::Duration,
    rcpt_reply: &'static [u8],
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 localhost ESMTP prueba\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-localhost\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
            "RCPT" => rcpt_reply,
            "DATA" => {
                write.write_all(b"354 Fin con <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut l = String::new();
                    if lines.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    let l = l
                        .strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l);
                    data.extend_from_slice(l.as_bytes());
                }
                // Kept first, acknowledged after the delay: a sender that dies in between has
                // delivered a message it does not know about.
                store.lock().unwrap().push(data);
                tokio::time::sleep(delay).await;
                b"250 OK aceptado\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 Adios\r\n").await?;
                return Ok(());
            }
            _ => b"502 No implementado\r\n",
        };
        write.write_all(reply).await?;
    }
}
