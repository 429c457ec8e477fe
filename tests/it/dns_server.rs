//! A small authoritative DNS server for tests: TXT records only, on 127.0.0.1 (UDP and TCP on
//! the same port 0-chosen port), records changeable while it runs. The resolver under test is
//! Lobby's real one (hickory, `LOBBY_DNS_SERVER`); this server only answers it.
//!
//! Owns: the wire side of the tests' DNS (RFC 1035 §4 messages via hickory-proto, §4.2.2 TCP
//! length framing, §4.1.1 TC bit over 512 bytes). Must not touch: Lobby's code.

#![allow(dead_code)]

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::TXT;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Classic DNS over UDP without EDNS (RFC 1035 §4.2.1); larger answers set TC.
const UDP_MAX: usize = 512;

#[derive(Default)]
struct Zone {
    /// Lowercased name without the trailing dot → TXT values (one character-string each).
    txt: RwLock<HashMap<String, Vec<String>>>,
    /// Names answered with SERVFAIL (a DNS failure, not an absent record).
    failing: RwLock<std::collections::HashSet<String>>,
    udp_queries: AtomicUsize,
    tcp_queries: AtomicUsize,
}

pub struct TestDns {
    pub addr: SocketAddr,
    zone: Arc<Zone>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TestDns {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl TestDns {
    /// Bind UDP and TCP on one free loopback port and serve until dropped.
    pub async fn start() -> Self {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
            let addr = udp.local_addr().expect("udp addr");
            // The TCP side of the same port may be taken; then try another port.
            if let Ok(tcp) = TcpListener::bind(addr).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().expect("udp addr");
        let zone = Arc::new(Zone::default());
        let z = zone.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                    continue;
                };
                z.udp_queries.fetch_add(1, Ordering::SeqCst);
                if let Some(out) = answer(&z, &buf[..n], Some(UDP_MAX)) {
                    let _ = udp.send_to(&out, peer).await;
                }
            }
        });
        let z = zone.clone();
        let tcp_task = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = tcp.accept().await else {
                    continue;
                };
                let z = z.clone();
                tokio::spawn(async move {
                    // RFC 1035 §4.2.2: each message is preceded by its two-byte length.
                    loop {
                        let Ok(len) = conn.read_u16().await else {
                            return;
                        };
                        let mut msg = vec![0u8; len as usize];
                        if conn.read_exact(&mut msg).await.is_err() {
                            return;
                        }
                        z.tcp_queries.fetch_add(1, Ordering::SeqCst);
                        let Some(out) = answer(&z, &msg, None) else {
                            return;
                        };
                        let Ok(len) = u16::try_from(out.len()) else {
                            return;
                        };
                        if conn.write_u16(len).await.is_err() || conn.write_all(&out).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        TestDns {
            addr,
            zone,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// Publish TXT records at `name` (replacing earlier ones).
    pub fn set_txt(&self, name: &str, values: &[&str]) {
        self.zone
            .txt
            .write()
            .unwrap()
            .insert(key(name), values.iter().map(|v| v.to_string()).collect());
    }

    /// Remove every record at `name` (the name then does not exist: NXDOMAIN).
    pub fn remove(&self, name: &str) {
        self.zone.txt.write().unwrap().remove(&key(name));
        self.zone.failing.write().unwrap().remove(&key(name));
    }

    /// Answer queries for `name` with SERVFAIL until `remove`d.
    pub fn fail(&self, name: &str) {
        self.zone.failing.write().unwrap().insert(key(name));
    }

    pub fn udp_queries(&self) -> usize {
        self.zone.udp_queries.load(Ordering::SeqCst)
    }

    pub fn tcp_queries(&self) -> usize {
        self.zone.tcp_queries.load(Ordering::SeqCst)
    }
}

/// The response to one query message; `None` for what is not a parsable query.
fn answer(zone: &Zone, bytes: &[u8], limit: Option<usize>) -> Option<Vec<u8>> {
    let q = Message::from_vec(bytes).ok()?;
    if q.message_type() != MessageType::Query {
        return None;
    }
    let mut r = Message::new();
    r.set_id(q.id())
        .set_message_type(MessageType::Response)
        .set_op_code(q.op_code())
        .set_authoritative(true)
        .set_recursion_desired(q.recursion_desired())
        .set_recursion_available(false);
    for query in q.queries() {
        r.add_query(query.clone());
    }
    let records = zone.txt.read().unwrap();
    let failing = zone.failing.read().unwrap();
    let mut code = ResponseCode::NoError;
    for query in q.queries() {
        if failing.contains(&key(&query.name().to_ascii())) {
            code = ResponseCode::ServFail;
            continue;
        }
        match records.get(&key(&query.name().to_ascii())) {
            None => code = ResponseCode::NXDomain,
            Some(values) if query.query_type() == RecordType::TXT => {
                for v in values {
                    r.add_answer(Record::from_rdata(
                        query.name().clone(),
                        0,
                        RData::TXT(TXT::new(vec![v.clone()])),
                    ));
                }
            }
            // The name exists, but not with this type: NOERROR, no answers (NODATA).
            Some(_) => {}
        }
    }
    r.set_response_code(code);
    let out = r.to_vec().ok()?;
    match limit {
        Some(max) if out.len() > max => {
            // RFC 1035 §4.1.1: truncated; the client retries over TCP.
            let mut t = Message::new();
            t.set_id(q.id())
                .set_message_type(MessageType::Response)
                .set_op_code(q.op_code())
                .set_authoritative(true)
                .set_recursion_desired(q.recursion_desired())
                .set_truncated(true);
            for query in q.queries() {
                t.add_query(query.clone());
            }
            t.to_vec().ok()
        }
        _ => Some(out),
    }
}
