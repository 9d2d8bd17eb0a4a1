//! A deliberately misbehaving HTTP/1.1 server, written on raw TCP so it can
//! do what a framework would refuse to: lie about Content-Length, send a
//! megabyte of header, drip a byte at a time, hang up mid-body.
//!
//! It listens on 127.0.0.1 (an ephemeral port) and, as a trap, on 127.0.0.2
//! at the same port: the tests forbid 127.0.0.2, so any request the trap
//! sees is a request the address guard let through. Every response closes
//! the connection.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The Authorization header the basic-auth feeds expect
/// ("reader:pw-never-logged").
pub const EXPECTED_AUTH: &str = "Basic cmVhZGVyOnB3LW5ldmVyLWxvZ2dlZA==";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The address the request arrived on (127.0.0.1, or the 127.0.0.2 trap).
    pub local: IpAddr,
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
}

/// What the server saw, shared with the test.
#[derive(Default)]
pub struct Seen {
    pub requests: Mutex<Vec<SeenRequest>>,
    /// Requests whose response is not complete yet, and the most at once.
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl Seen {
    pub fn hits(&self, path: &str) -> usize {
        self.requests.lock().expect("lock").iter().filter(|r| r.path == path).count()
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.requests.lock().expect("lock").clone()
    }

    fn enter(self: &Arc<Self>) -> Flight {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Flight { seen: Arc::clone(self), done: false }
    }
}

/// One request in flight. It ends before the last byte of the response is
/// written, so a client cannot see a complete response (and start its next
/// request) while the server still counts this one.
struct Flight {
    seen: Arc<Seen>,
    done: bool,
}

impl Flight {
    fn done(&mut self) {
        if !self.done {
            self.done = true;
            self.seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.done();
    }
}

pub struct HostileServer {
    pub port: u16,
    pub seen: Arc<Seen>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl HostileServer {
    pub async fn start() -> HostileServer {
        let main = TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let port = main.local_addr().expect("local addr").port();
        let trap = TcpListener::bind(("127.0.0.2", port)).await.expect("bind the 127.0.0.2 trap on the same port");
        let seen = Arc::new(Seen::default());
        let tasks = [main, trap]
            .into_iter()
            .map(|listener| {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else { continue };
                        let seen = Arc::clone(&seen);
                        tokio::spawn(connection(stream, port, seen));
                    }
                })
            })
            .collect();
        HostileServer { port, seen, tasks }
    }

    /// A URL on news.example.com, which the tests pin to 127.0.0.1.
    pub fn url(&self, path: &str) -> String {
        format!("http://news.example.com:{}{path}", self.port)
    }

    /// `NEWSWIRE_RESOLVE` for the binary: public-looking names pinned to the
    /// server (evil.example.com to the forbidden 127.0.0.2 trap).
    pub fn resolve(&self) -> String {
        let p = self.port;
        format!("news.example.com=127.0.0.1:{p},other.example.com=127.0.0.1:{p},evil.example.com=127.0.0.2:{p}")
    }
}

/// A port nothing listens on (bound, then released).
pub async fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local addr").port()
}

struct Request {
    path: String,
    headers: HashMap<String, String>,
}

async fn read_head(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Request { path, headers })
}

async fn connection(mut stream: TcpStream, port: u16, seen: Arc<Seen>) {
    let Some(req) = read_head(&mut stream).await else { return };
    let local = stream.local_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    seen.requests.lock().expect("lock").push(SeenRequest {
        local,
        path: req.path.clone(),
        headers: req.headers.clone(),
    });
    let mut flight = seen.enter();
    // Write errors are expected: hostile cases end with the client hanging up.
    let _ = respond(&mut stream, &req, port, &seen, &mut flight).await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// A complete response with an honest Content-Length.
async fn send(
    stream: &mut TcpStream,
    flight: &mut Flight,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    write!(out, "Content-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    out.extend_from_slice(body);
    let last = out.pop().expect("a response is never empty");
    stream.write_all(&out).await?;
    flight.done();
    stream.write_all(&[last]).await?;
    stream.shutdown().await
}

async fn feed(stream: &mut TcpStream, flight: &mut Flight, body: &str) -> std::io::Result<()> {
    send(stream, flight, 200, &[("Content-Type", "application/rss+xml; charset=utf-8")], body.as_bytes()).await
}

async fn redirect(stream: &mut TcpStream, flight: &mut Flight, to: &str) -> std::io::Result<()> {
    send(stream, flight, 302, &[("Location", to)], b"").await
}

async fn respond(
    stream: &mut TcpStream,
    req: &Request,
    port: u16,
    seen: &Arc<Seen>,
    flight: &mut Flight,
) -> std::io::Result<()> {
    // Routes ignore the query string.
    let path = req.path.split('?').next().unwrap_or_default();
    // How many times this path was asked for, this request included.
    let nth = seen.hits(path);
    match path {
        "/good/a.xml" | "/good/b.xml" | "/good/c.xml" => feed(stream, flight, &docs::simple(&path[6..7], 2)).await,

        // Transport.
        "/drip" => {
            // Honest headers, then one byte every 300 ms: never finishes
            // within a feed's timeout, never idles long enough to look dead.
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
                .await?;
            for _ in 0..200 {
                stream.write_all(b" ").await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Ok(())
        }
        "/drip-headers" => {
            // The status line and headers themselves, a byte every 300 ms.
            for byte in
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Slow: ".iter().chain([b'a'; 200].iter())
            {
                stream.write_all(&[*byte]).await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Ok(())
        }
        "/endless" => {
            // A feed that never ends, as fast as the client reads.
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n")
                .await?;
            stream.write_all(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Endless</title>").await?;
            let chunk = "<item><title>more</title><description>and more</description></item>".repeat(1000);
            for _ in 0..20_000 {
                stream.write_all(chunk.as_bytes()).await?;
            }
            Ok(())
        }
        "/gzip-bomb" => {
            let body = docs::gzip_bomb();
            send(stream, flight, 200, &[("Content-Type", "application/rss+xml"), ("Content-Encoding", "gzip")], &body)
                .await
        }
        "/truncated" => {
            // Promises 5000 bytes, sends the first 1000 of a feed, hangs up.
            let body = docs::simple("t", 20);
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n")
                .await?;
            stream.write_all(&body.as_bytes()[..1000]).await?;
            stream.shutdown().await
        }
        "/big-length" => {
            // An honest 2 MiB body: the Content-Length alone is over the cap.
            let body = format!("{}{}", docs::simple("big", 1), " ".repeat(2 * 1024 * 1024));
            feed(stream, flight, &body).await
        }
        "/bad-gzip" => {
            let body = docs::simple("badgzip", 1);
            send(
                stream,
                flight,
                200,
                &[("Content-Type", "application/rss+xml"), ("Content-Encoding", "gzip")],
                body.as_bytes(),
            )
            .await
        }
        "/garbage" => {
            stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await?;
            stream.shutdown().await
        }
        "/many-headers" => {
            let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n");
            for i in 0..500 {
                head.push_str(&format!("X-Header-{i}: {i}\r\n"));
            }
            let body = docs::simple("manyheaders", 1);
            head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            stream.write_all(head.as_bytes()).await?;
            stream.shutdown().await
        }
        "/close" => Ok(()),
        "/bad-length" => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: lots\r\n\r\n")
                .await?;
            stream.write_all(docs::simple("l", 1).as_bytes()).await?;
            stream.shutdown().await
        }
        "/huge-header" => {
            let filler = "a".repeat(1024 * 1024);
            send(stream, flight, 200, &[("X-Filler", &filler)], docs::simple("h", 1).as_bytes()).await
        }
        "/html" => send(stream, flight, 200, &[("Content-Type", "text/html")], docs::HTML_PAGE.as_bytes()).await,
        "/empty" => send(stream, flight, 200, &[("Content-Type", "application/rss+xml")], b"").await,
        "/status/401" | "/status/403" | "/status/404" => {
            let status: u16 = path[8..].parse().expect("a status in the path");
            send(stream, flight, status, &[], b"no").await
        }

        // Redirects.
        "/loop/a" => redirect(stream, flight, "/loop/b").await,
        "/loop/b" => redirect(stream, flight, "/loop/a").await,
        _ if path.starts_with("/chain/") => {
            let n: u32 = path[7..].parse().unwrap_or(0);
            redirect(stream, flight, &format!("/chain/{}", n + 1)).await
        }
        "/redirect/no-location" => send(stream, flight, 302, &[], b"").await,
        "/redirect/invalid" => redirect(stream, flight, "http://[::1").await,
        "/to/loopback" => redirect(stream, flight, &format!("http://127.0.0.2:{port}/good/c.xml")).await,
        "/to/decimal-loopback" => redirect(stream, flight, &format!("http://2130706434:{port}/good/c.xml")).await,
        "/to/mapped-loopback" => {
            redirect(stream, flight, &format!("http://[::ffff:127.0.0.2]:{port}/good/c.xml")).await
        }
        "/to/ipv6-loopback" => redirect(stream, flight, &format!("http://[::1]:{port}/good/c.xml")).await,
        "/to/metadata" => {
            redirect(stream, flight, "http://169.254.169.254/latest/meta-data/iam/security-credentials/").await
        }
        "/to/file" => redirect(stream, flight, "file:///etc/passwd").await,
        "/to/evil" => redirect(stream, flight, &format!("http://evil.example.com:{port}/good/c.xml")).await,

        // Status codes and validators.
        "/retry/429-short" if nth == 1 => send(stream, flight, 429, &[("Retry-After", "1")], b"slow down").await,
        "/retry/429-short" => feed(stream, flight, &docs::simple("r429", 2)).await,
        "/retry/429-long" => send(stream, flight, 429, &[("Retry-After", "3600")], b"come back in an hour").await,
        "/retry/503" if nth == 1 => send(stream, flight, 503, &[], b"busy").await,
        "/retry/503" => feed(stream, flight, &docs::simple("r503", 2)).await,
        "/etag.xml" if req.headers.get("if-none-match").map(String::as_str) == Some("\"v1\"") => {
            send(stream, flight, 304, &[("ETag", "\"v1\"")], b"").await
        }
        "/etag.xml" => {
            let body = docs::simple("etag", 2);
            send(stream, flight, 200, &[("Content-Type", "application/rss+xml"), ("ETag", "\"v1\"")], body.as_bytes())
                .await
        }
        "/gone" => send(stream, flight, 410, &[], b"gone").await,
        "/moved" => send(stream, flight, 301, &[("Location", "/good/c.xml")], b"").await,

        // Documents.
        _ if path.starts_with("/doc/") => {
            let (content_type, body) = docs::document(&path[5..]);
            send(stream, flight, 200, &[("Content-Type", content_type)], &body).await
        }

        // Credentials.
        "/creds/feed.xml" => feed(stream, flight, &docs::simple("creds", 1)).await,
        "/auth/feed.xml" if req.headers.get("authorization").map(String::as_str) == Some(EXPECTED_AUTH) => {
            feed(stream, flight, &docs::simple("auth", 2)).await
        }
        "/auth/feed.xml" => send(stream, flight, 401, &[("WWW-Authenticate", "Basic realm=\"feeds\"")], b"").await,
        "/auth/moved" => redirect(stream, flight, &format!("http://other.example.com:{port}/auth/elsewhere.xml")).await,
        "/auth/feed2.xml" if req.headers.get("authorization").map(String::as_str) == Some(EXPECTED_AUTH) => {
            feed(stream, flight, &docs::simple("auth2", 2)).await
        }
        "/auth/moved-here" => redirect(stream, flight, "/auth/feed2.xml").await,
        "/auth/elsewhere.xml" if req.headers.contains_key("authorization") => {
            send(stream, flight, 400, &[], b"credentials sent to another host").await
        }
        "/auth/elsewhere.xml" => feed(stream, flight, &docs::simple("elsewhere", 1)).await,
        "/creds/moved" => {
            redirect(stream, flight, &format!("http://other.example.com:{port}/creds/elsewhere.xml")).await
        }
        "/creds/elsewhere.xml" if req.headers.contains_key("authorization") => {
            send(stream, flight, 400, &[], b"credentials sent to another host").await
        }
        "/creds/elsewhere.xml" => feed(stream, flight, &docs::simple("credsother", 1)).await,

        // Politeness: slow enough that requests would overlap if allowed to.
        _ if path.starts_with("/polite/") => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            feed(stream, flight, &docs::simple(&path[8..], 1)).await
        }

        _ => send(stream, flight, 404, &[], b"no such case").await,
    }
}

/// The documents served.
pub mod docs {
    use std::io::Write;

    pub const HTML_PAGE: &str = "<!DOCTYPE html><html><head><title>Welcome</title></head>\
        <body><h1>Our news</h1><p>Read our latest stories on the home page.</p></body></html>";

    /// One RSS item.
    pub fn item(guid: &str, title: &str, link: &str) -> String {
        format!(
            "<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>\
             <description>Reporting on {guid} from the newsroom.</description></item>"
        )
    }

    /// An RSS document around `items`.
    pub fn rss(items: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Hostile</title>\
             <link>https://hostile.example.org/</link>{items}</channel></rss>"
        )
    }

    /// A well-formed feed: `n` items with guids `KEY-1`… and links
    /// `https://KEY.example.org/1`….
    pub fn simple(key: &str, n: usize) -> String {
        let items: String = (1..=n)
            .map(|i| item(&format!("{key}-{i}"), &format!("Story {i}"), &format!("https://{key}.example.org/{i}")))
            .collect();
        rss(&items)
    }

    /// 100 MiB of zeros, gzipped: 25 gzip members of 4 MiB each (a valid
    /// gzip file; decoders concatenate members), about 100 KiB on the wire.
    pub fn gzip_bomb() -> Vec<u8> {
        let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        member.write_all(&vec![0u8; 4 * 1024 * 1024]).expect("compress in memory");
        let member = member.finish().expect("compress in memory");
        member.repeat(25)
    }

    /// A document case: its Content-Type and bytes.
    pub fn document(case: &str) -> (&'static str, Vec<u8>) {
        const RSS: &str = "application/rss+xml";
        let bytes = match case {
            // windows-1252 bytes under a utf-8 declaration.
            "cp1252-declared-utf8" => {
                let mut doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Caf\xe9</title>".to_vec();
                doc.extend_from_slice(b"<item><guid>cp1252-1</guid><link>https://cp1252.example.org/1</link><title>Le caf\xe9 de la gare rouvre apr\xe8s les travaux \x96 \x93enfin\x94</title>");
                doc.extend_from_slice(b"<description>Les habitu\xe9s du caf\xe9 sont ravis: la terrasse, la fa\xe7ade et le comptoir ont \xe9t\xe9 r\xe9nov\xe9s.</description></item></channel></rss>");
                doc
            }
            // Latin-1 said only in the HTTP header (see the Content-Type below).
            "latin1-header" => {
                b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Z\xfcrich</title><item><guid>latin1-1</guid><link>https://latin1.example.org/1</link><title>Z\xfcrich: gr\xf6\xdfere Stra\xdfenbahn f\xfcr die \xc4lteren</title><description>Die Stadt Z\xfcrich baut aus.</description></item></channel></rss>".to_vec()
            }
            // Mostly valid UTF-8 with two stray bytes.
            "invalid-utf8" => {
                let mut doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Größe</title><item><guid>badutf8-1</guid><link>https://badutf8.example.org/1</link><title>Café crème ".as_bytes().to_vec();
                doc.extend_from_slice(b"\xff\xfe");
                doc.extend_from_slice("Zürich Malmö Ærø naïve</title><description>Ünïcödé everywhere.</description></item></channel></rss>".as_bytes());
                doc
            }
            "bom" => {
                let mut doc = b"\xef\xbb\xbf".to_vec();
                doc.extend_from_slice(rss(&item("bom-1", "Byte order mark, then a feed", "https://bom.example.org/1")).as_bytes());
                doc
            }
            "utf16-bom" => {
                let text = rss(&item("utf16-1", "Sixteen bits: ça marche", "https://utf16.example.org/1"))
                    .replace("encoding=\"utf-8\"", "encoding=\"utf-16\"");
                let mut doc = vec![0xff, 0xfe];
                for unit in text.encode_utf16() {
                    doc.extend_from_slice(&unit.to_le_bytes());
                }
                doc
            }
            "nul" => rss(&format!(
                "{}{}",
                item("nul-1", "Nul\0 in the\0 title", "https://nul.example.org/1"),
                item("nul-2", "Clean title", "https://nul.example.org/2")
            ))
            .into_bytes(),
            "billion-laughs" => {
                let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
                doc.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
                for i in 2..=9 {
                    let prev = format!("&lol{};", i - 1).repeat(10);
                    doc.push_str(&format!("<!ENTITY lol{i} \"{prev}\">\n"));
                }
                doc.push_str("]>\n<rss version=\"2.0\"><channel><title>Laughs</title>");
                doc.push_str("<item><guid>laughs-1</guid><link>https://laughs.example.org/1</link><title>&lol9;</title><description>&lol9;</description></item>");
                doc.push_str(&item("laughs-2", "After the laughs", "https://laughs.example.org/2"));
                doc.push_str("</channel></rss>");
                doc.into_bytes()
            }
            "xxe" => {
                let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n<!ENTITY % remote SYSTEM \"file:///etc/passwd\">\n]>\n");
                doc.push_str("<rss version=\"2.0\"><channel><title>&xxe;</title>");
                doc.push_str("<item><guid>xxe-1</guid><link>https://xxe.example.org/1</link><title>Leak &xxe; here</title><description>&xxe;</description></item>");
                doc.push_str(&item("xxe-2", "After the entity", "https://xxe.example.org/2"));
                doc.push_str("</channel></rss>");
                doc.into_bytes()
            }
            "50k-items" => {
                let mut items = String::with_capacity(50_000 * 160);
                for i in 1..=50_000 {
                    items.push_str(&item(&format!("many-{i}"), &format!("Item {i}"), &format!("https://many.example.org/{i}")));
                }
                rss(&items).into_bytes()
            }
            "huge-title" => {
                let title = "Long ".repeat(4 * 1024 * 1024); // 20 MiB
                rss(&format!(
                    "{}{}",
                    item("huge-1", &title, "https://huge.example.org/1"),
                    item("huge-2", "A normal title", "https://huge.example.org/2")
                ))
                .into_bytes()
            }
            "javascript-links" => rss(&format!(
                "{}{}{}{}{}",
                item("js-1", "Script link", "javascript:alert(document.cookie)"),
                item("js-2", "Upper-case script link", "JaVaScRiPt:alert(1)"),
                item("js-3", "Data link", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
                item("js-4", "A real link", "https://js.example.org/4"),
                item("js-5", "File link", "file:///etc/passwd")
            ))
            .into_bytes(),
            // Cut in the middle of the third item, Content-Length honest.
            "cut-short" => {
                let doc = simple("cut", 3);
                let at = doc.find("<item><guid>cut-3").expect("third item") + 40;
                doc.as_bytes()[..at].to_vec()
            }
            // 5,000 nested elements the reader does not know, inside an item.
            "deep-nesting" => rss(&format!(
                "<item><guid>deep-1</guid><link>https://deep.example.org/1</link><title>Deep</title>{}deep{}</item>{}",
                "<x>".repeat(5000),
                "</x>".repeat(5000),
                item("deep-2", "After the depths", "https://deep.example.org/2")
            ))
            .into_bytes(),
            "log-injection" => rss(&item(
                "inject-1",
                "Harmless\n2024-01-01T00:00:00Z ERROR forged=\"entry\"\u{1b}[31m red \u{1b}[0m\r\nend",
                "https://inject.example.org/1",
            ))
            .into_bytes(),
            _ => return ("text/plain", b"no such document".to_vec()),
        };
        let content_type = if case == "latin1-header" { "application/rss+xml; charset=iso-8859-1" } else { RSS };
        (content_type, bytes)
    }
}
