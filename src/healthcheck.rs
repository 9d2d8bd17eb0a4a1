//! `newswire healthcheck`: ask a running daemon's status server whether it
//! is ready (`GET /readyz`), for a container's HEALTHCHECK or a probe that
//! can only run a command.
//!
//! Exit 0 when `/readyz` answers 200, 1 otherwise: it answers anything
//! else, cannot be reached in time, or there is no address to ask (the
//! answer's text, or the reason, is printed). Never 2, which Docker reserves
//! in a HEALTHCHECK. The address is `--addr`, or
//! the config's `[server] listen`; a wildcard listen address (`0.0.0.0`,
//! `[::]`) is asked on loopback. Only `[server] listen` is read from the
//! config, so a check never fails on a part of the config it does not use
//! (an unset `url_env` variable, say).
//!
//! A plain HTTP/1.1 request on a TCP socket: the status server speaks
//! nothing else, and the image needs no curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes of the answer read at most: `/readyz` says a line per failing sink.
const MAX_ANSWER: u64 = 64 * 1024;

/// What `/readyz` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// `newswire healthcheck`: ask, print what was said, return the exit status.
/// `config` is `-c`; without it the config is looked up as every command
/// does ([`crate::settings::locate`]), and only when there is no `addr`.
pub async fn run(config: Option<&Path>, addr: Option<SocketAddr>, timeout: Duration) -> u8 {
    let from_config = || crate::settings::locate(config).map_err(|e| e.0).and_then(|found| listen_address(&found.path));
    let addr = match addr.map_or_else(from_config, Ok) {
        Ok(addr) => addr,
        Err(reason) => {
            println!("{reason}");
            return 1;
        }
    };
    let target = reachable(addr);
    match ask(target, timeout).await {
        Ok(answer) => {
            let body = answer.body.trim_end();
            if answer.status == 200 {
                println!("{body}");
                0
            } else {
                println!("{target}: HTTP {}: {body}", answer.status);
                1
            }
        }
        Err(reason) => {
            println!("{target}: {reason}");
            1
        }
    }
}

/// The config's `[server] listen`, reading nothing else of the file.
fn listen_address(config: &Path) -> Result<SocketAddr, String> {
    let shown = config.display();
    let text = std::fs::read_to_string(config).map_err(|e| format!("{shown}: cannot read the config file: {e}"))?;
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{shown}: not a TOML file: {e}"))?;
    let Some(listen) = doc.get("server").and_then(|server| server.get("listen")) else {
        return Err(format!("{shown}: no [server] listen: the daemon serves no /readyz to ask (or give --addr)"));
    };
    let text = listen.as_str().ok_or_else(|| format!("{shown}: server.listen must be a string"))?;
    text.parse().map_err(|e| format!("{shown}: server.listen \"{text}\": {e}"))
}

/// Where to connect to reach a server listening on `listen`: a wildcard
/// address is reached on loopback.
pub fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET /readyz` on `addr`, the whole exchange within `timeout`. The error
/// is the reason, for the operator.
pub async fn ask(addr: SocketAddr, timeout: Duration) -> Result<Answer, String> {
    match tokio::time::timeout(timeout, exchange(addr)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}", humantime::format_duration(timeout))),
    }
}

async fn exchange(addr: SocketAddr) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("cannot connect: {e}"))?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: newswire-healthcheck\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("cannot send the request: {e}"))?;
    let mut raw = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut raw).await.map_err(|e| format!("cannot read the answer: {e}"))?;
    parse_answer(&raw)
}

/// The status and body of an HTTP/1.x answer read to its end.
fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(format!("not an HTTP answer: {:?}", truncate(status_line)));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1 answer: {:?}", truncate(status_line)));
    }
    let status = code.parse().map_err(|_| format!("bad HTTP status line: {:?}", truncate(status_line)))?;
    let body = if head.to_ascii_lowercase().contains("\r\ntransfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Answer { status, body })
}

/// The data of a chunked body (the status server sends short bodies with a
/// length, but a proxy in between may chunk them).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = size.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size, 16) else { break };
        if size == 0 || rest.len() < size {
            out.push_str(rest.get(..size.min(rest.len())).unwrap_or_default());
            break;
        }
        let Some(chunk) = rest.get(..size) else { break };
        out.push_str(chunk);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

fn truncate(text: &str) -> &str {
    let end = text.char_indices().nth(80).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::status::serve;
    use newswire_pipeline::board::{Board, SinkHealth};
    use tokio_util::sync::CancellationToken;

    /// The daemon's own status server on a free loopback port.
    async fn status_server(board: Arc<Board>) -> (SocketAddr, CancellationToken) {
        let shutdown = CancellationToken::new();
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle();
        let (addr, _task) =
            serve("127.0.0.1:0".parse().expect("addr"), board, metrics, None, shutdown.clone()).await.expect("serve");
        (addr, shutdown)
    }

    #[tokio::test]
    async fn ready_is_200_and_a_failing_sink_is_named() {
        let sinks = Arc::new(SinkHealth::default());
        let board = Arc::new(Board::new(Arc::clone(&sinks)));
        let (addr, shutdown) = status_server(Arc::clone(&board)).await;
        let wait = Duration::from_secs(10);

        let answer = ask(addr, wait).await.expect("an answer");
        assert_eq!(answer.status, 503, "not running yet: {answer:?}");
        assert!(answer.body.contains("scheduler is not running"), "{answer:?}");

        board.set_running(true);
        assert_eq!(ask(addr, wait).await.expect("an answer"), Answer { status: 200, body: "ready\n".into() });

        sinks.sink_failing("postgres", "connection refused");
        let answer = ask(addr, wait).await.expect("an answer");
        assert_eq!(answer.status, 503);
        assert!(answer.body.contains("sink postgres: connection refused"), "{answer:?}");

        // The command: 0 when ready, 1 when not; --addr needs no config.
        let nowhere = Path::new("does-not-exist.toml");
        assert_eq!(run(Some(nowhere), Some(addr), wait).await, 1);
        sinks.sink_ok("postgres");
        assert_eq!(run(Some(nowhere), Some(addr), wait).await, 0);
        shutdown.cancel();
    }

    #[tokio::test]
    async fn nothing_listening_or_no_answer_is_unhealthy() {
        // Bound but never accepted and never answered: the exchange cannot
        // finish, so a zero timeout deterministically elapses.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let err = ask(silent.local_addr().expect("addr"), Duration::ZERO).await.expect_err("no answer");
        assert!(err.starts_with("no answer within"), "{err}");
        assert_eq!(run(Some(Path::new("unused")), Some(silent.local_addr().expect("addr")), Duration::ZERO).await, 1);

        // A port nobody listens on (bound, then closed).
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let err = ask(closed, Duration::from_secs(10)).await.expect_err("refused");
        assert!(err.starts_with("cannot connect"), "{err}");
    }

    #[test]
    fn the_address_comes_from_server_listen_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        // The rest of the config is not read: an unset url_env is no error here.
        let full = write(
            "full.toml",
            "[[sink]]\nkind = \"postgres\"\nurl_env = \"NEWSWIRE_UNSET_FOR_THIS_TEST\"\n\n[server]\nlisten = \"0.0.0.0:9090\"\n",
        );
        let listen = listen_address(&full).expect("listen read");
        assert_eq!(listen, "0.0.0.0:9090".parse().expect("addr"));
        assert_eq!(reachable(listen), "127.0.0.1:9090".parse().expect("addr"));
        assert_eq!(reachable("[::]:9090".parse().expect("addr")), "[::1]:9090".parse().expect("addr"));
        assert_eq!(reachable("10.1.2.3:80".parse().expect("addr")), "10.1.2.3:80".parse().expect("addr"));

        for (name, text, says) in [
            ("none.toml", "[pipeline]\ndata_dir = \"x\"\n", "no [server] listen"),
            ("number.toml", "[server]\nlisten = 9090\n", "must be a string"),
            ("bad.toml", "[server]\nlisten = \"localhost\"\n", "server.listen \"localhost\""),
            ("broken.toml", "[server\n", "not a TOML file"),
        ] {
            let err = listen_address(&write(name, text)).expect_err(name);
            assert!(err.contains(says), "{name}: {err}");
            // Exit 1, not the usual 2 for a usage error: Docker reserves 2.
            let code = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(run(Some(&dir.path().join(name)), None, Duration::from_secs(1)));
            assert_eq!(code, 1, "{name}");
        }
        let err = listen_address(&dir.path().join("missing.toml")).expect_err("missing");
        assert!(err.contains("cannot read the config file"), "{err}");
    }

    #[test]
    fn answers_are_parsed() {
        let plain = parse_answer(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 6\r\n\r\nnot r\n").expect("ok");
        assert_eq!(plain, Answer { status: 503, body: "not r\n".into() });
        let chunked = parse_answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nrea\r\n3;x=y\r\ndy\n\r\n0\r\n\r\n",
        )
        .expect("ok");
        assert_eq!(chunked, Answer { status: 200, body: "ready\n".into() });
        assert!(parse_answer(b"").is_err());
        assert!(parse_answer(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_answer(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }
}
