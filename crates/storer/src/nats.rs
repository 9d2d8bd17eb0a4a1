//! The NATS JetStream sink: each record published as JSON to a subject
//! templated by feed or tag.
//!
//! # What it promises, and what JetStream promises
//!
//! - `write` sends every record of the batch, then waits for every publish
//!   ack; it returns `Ok` only when the stream acknowledged them all. The
//!   pipeline commits the batch's checkpoint after that, never before.
//! - Each message carries `Nats-Msg-Id: {id}:{content_hash}`. Within the
//!   stream's `duplicate_window` the server drops a message whose id it has
//!   seen (and still acks it, flagged `duplicate`), so a batch replayed after
//!   a crash or a retry is stored once. Past the window a replay would be
//!   stored again, which is why a stream this sink creates gets a window of
//!   two hours by default (the server's default is two minutes, shorter
//!   than a restart can take). A new version of an article has a new content
//!   hash, hence a new message.
//! - An ack means the stream's leader (and, with replicas, a quorum) has
//!   the message in its store; it does **not** mean it is on disk. JetStream
//!   writes its file store through the page cache and fsyncs on a timer
//!   (`sync_interval`, two minutes by default): a power loss, or an
//!   operating-system crash, on a single server can lose acknowledged
//!   messages from that interval, unless the server runs with
//!   `sync_interval: always` (or the stream is replicated, so a quorum of
//!   servers would have to fail together). A crash of the nats-server
//!   process alone loses nothing acked: the data is in the kernel's cache.
//! - The sink never holds the feed state: its checkpoint is committed by
//!   the state store or the SQL sink, after this sink returned.
//! - Connection loss: the client reconnects by itself, forever. A write
//!   during the outage fails with a retryable error (ack timeout, broken
//!   pipe, no responders), the pipeline backs off and writes the batch again,
//!   and the message ids make the replay harmless.

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;
use newswire_core::Record;
use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StoreError};

const NAME: &str = "nats";

/// How long to wait to connect to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the NATS sink. Secrets are named by environment variable,
/// never given inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// The JetStream stream, created if missing. Default `"NEWSWIRE"`.
    pub stream: String,
    /// Where each record goes: dot-separated tokens, each literal or one of
    /// `{feed}` (the record's feed name) and `{tag}` (its first category,
    /// `untagged` when it has none). Names are made into valid subject
    /// tokens (anything but ASCII letters, digits, `-` and `_` becomes `_`).
    /// The leading literal tokens form the stream's subjects (`prefix.>`).
    /// Default `"newswire.{feed}"`.
    pub subject_template: String,
    /// The dedup window given to a stream this sink creates. Default two
    /// hours: a replay after a longer outage than the window is stored
    /// twice. An existing stream keeps its own window (warned about when it
    /// is shorter than this).
    pub duplicate_window: Duration,
    /// How long to wait for each publish ack. Default 10 s.
    pub ack_timeout: Duration,
    /// Environment variable holding NATS credentials: the text of a
    /// `.creds` file, or the path of one. Default none.
    pub creds_env: Option<String>,
    /// Environment variable holding an auth token. Default none.
    pub token_env: Option<String>,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            stream: "NEWSWIRE".into(),
            subject_template: "newswire.{feed}".into(),
            duplicate_window: Duration::from_secs(2 * 3600),
            ack_timeout: Duration::from_secs(10),
            creds_env: None,
            token_env: None,
        }
    }
}

/// One token of a subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Feed,
    Tag,
}

/// A parsed subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubjectTemplate {
    parts: Vec<Part>,
}

impl SubjectTemplate {
    fn parse(template: &str) -> Result<SubjectTemplate, StoreError> {
        let bad = |why: &str| StoreError::fatal(NAME, format!("invalid subject template {template:?}: {why}"));
        let mut parts = Vec::new();
        for token in template.split('.') {
            let part = match token {
                "{feed}" => Part::Feed,
                "{tag}" => Part::Tag,
                "" => return Err(bad("empty token")),
                t if t.contains(['{', '}']) => return Err(bad("a placeholder must be a whole token: {feed} or {tag}")),
                t if t.contains(['*', '>']) || t.chars().any(char::is_whitespace) => {
                    return Err(bad("wildcards and spaces are not allowed"));
                }
                t => Part::Literal(t.to_owned()),
            };
            parts.push(part);
        }
        if !matches!(parts.first(), Some(Part::Literal(_))) {
            return Err(bad("it must start with a literal token, the stream's subject prefix"));
        }
        Ok(SubjectTemplate { parts })
    }

    /// The subject a record goes to.
    fn render(&self, record: &Record) -> String {
        let mut out = String::new();
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Feed => push_token(&mut out, &record.feed),
                Part::Tag => push_token(&mut out, record.categories.first().map_or("untagged", String::as_str)),
            }
        }
        out
    }

    /// The subjects the stream covers: the template itself when it has no
    /// placeholder, else its leading literal tokens and `>`.
    fn stream_subject(&self) -> String {
        let mut literals = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => literals.push(s.as_str()),
                Part::Feed | Part::Tag => {
                    literals.push(">");
                    break;
                }
            }
        }
        literals.join(".")
    }
}

/// Append `name` as one valid subject token.
fn push_token(out: &mut String, name: &str) {
    if name.is_empty() {
        out.push('_');
        return;
    }
    for c in name.chars() {
        out.push(if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' });
    }
}

/// The message id that lets JetStream drop a duplicate.
fn message_id(record: &Record) -> String {
    format!("{}:{}", record.id, record.content_hash)
}

/// Publishes records to a JetStream stream; see the module docs.
pub struct NatsSink {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    template: SubjectTemplate,
    options: NatsOptions,
}

impl std::fmt::Debug for NatsSink {
    // Options name environment variables, not secrets: safe to show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSink").field("options", &self.options).finish_non_exhaustive()
    }
}

/// Read a secret from the environment variable `var`.
fn secret(var: &str) -> Result<String, StoreError> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(StoreError::fatal(NAME, format!("environment variable {var} is not set"))),
    }
}

impl NatsSink {
    /// Connect to `url` (`nats://host:4222`, several separated by commas)
    /// and create the stream if it is missing.
    ///
    /// A server that cannot be reached gives a retryable error; a bad
    /// template, a missing secret or refused credentials a fatal one.
    pub async fn connect(url: &str, options: NatsOptions) -> Result<NatsSink, StoreError> {
        let template = SubjectTemplate::parse(&options.subject_template)?;
        let mut connect = async_nats::ConnectOptions::new()
            .name("newswire")
            .connection_timeout(CONNECT_TIMEOUT)
            // Reconnect forever: the daemon recovers by itself when the
            // server returns.
            .max_reconnects(None);
        if let Some(var) = &options.creds_env {
            let creds = secret(var)?;
            connect = if creds.contains("-----BEGIN") {
                connect.credentials(&creds)
            } else {
                connect.credentials_file(&creds).await
            }
            .map_err(|e| StoreError::fatal(NAME, format!("invalid NATS credentials in {var}: {e}")))?;
        }
        if let Some(var) = &options.token_env {
            connect = connect.token(secret(var)?);
        }
        let client = connect.connect(url).await.map_err(|e| {
            use async_nats::ConnectErrorKind as K;
            let retryable = matches!(e.kind(), K::Dns | K::TimedOut | K::Io | K::MaxReconnects);
            StoreError { sink: NAME.into(), message: format!("cannot connect to nats: {e}"), retryable }
        })?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(options.ack_timeout);
        let sink = NatsSink { client, jetstream, template, options };
        sink.ensure_stream().await?;
        Ok(sink)
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.options.stream
    }

    /// Create the stream if it is missing; warn when an existing one has a
    /// shorter dedup window than asked for or does not cover the subjects.
    async fn ensure_stream(&self) -> Result<(), StoreError> {
        let subject = self.template.stream_subject();
        let config = stream::Config {
            name: self.options.stream.clone(),
            subjects: vec![subject.clone()],
            duplicate_window: self.options.duplicate_window,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        let stream = self.jetstream.get_or_create_stream(config).await.map_err(|e| {
            use async_nats::jetstream::context::CreateStreamErrorKind as K;
            let retryable = matches!(e.kind(), K::JetStreamUnavailable | K::TimedOut | K::Response);
            StoreError {
                sink: NAME.into(),
                message: format!("cannot create stream {}: {e}", self.options.stream),
                retryable,
            }
        })?;
        let info = stream.cached_info();
        if info.config.duplicate_window < self.options.duplicate_window {
            tracing::warn!(
                stream = %self.options.stream,
                window = ?info.config.duplicate_window,
                wanted = ?self.options.duplicate_window,
                "nats stream has a short duplicate window: a replay after it would be stored twice"
            );
        }
        if !info.config.subjects.contains(&subject) {
            tracing::warn!(
                stream = %self.options.stream,
                subjects = ?info.config.subjects,
                wanted = %subject,
                "nats stream exists with other subjects"
            );
        }
        Ok(())
    }

    /// Publish every record, then wait for every ack.
    pub async fn publish(&self, records: &[Record]) -> Result<(), StoreError> {
        // Send all first: the acks come back while the rest are sent, so a
        // batch costs about one round trip, not one per record.
        let mut acks = Vec::with_capacity(records.len());
        for record in records {
            let payload = serde_json::to_vec(record)
                .map_err(|e| StoreError::fatal(NAME, format!("cannot serialise record {}: {e}", record.id)))?;
            let publish = PublishMessage::build().payload(Bytes::from(payload)).message_id(message_id(record));
            let ack = self
                .jetstream
                .send_publish(self.template.render(record), publish)
                .await
                .map_err(|e| self.publish_err(&record.id, &e))?;
            acks.push((record, ack));
        }
        for (record, ack) in acks {
            ack.await.map_err(|e| self.publish_err(&record.id, &e))?;
        }
        Ok(())
    }

    fn publish_err(&self, id: &str, e: &jetstream::context::PublishError) -> StoreError {
        use async_nats::jetstream::context::PublishErrorKind as K;
        // Timeouts, a broken connection and "no responders" (JetStream not
        // up yet after a restart) go away; so does anything else while the
        // connection is down, and too many acks outstanding at once. An error
        // the server gives while connected (stream sealed, …) is fatal, and so
        // is a record larger than the server's max_payload (the client refuses
        // it before sending; sending it again would not help).
        let retryable = match e.kind() {
            K::TimedOut | K::BrokenPipe | K::StreamNotFound | K::MaxAckPending => true,
            K::WrongLastMessageId | K::WrongLastSequence | K::MaxPayloadExceeded => false,
            K::Other => self.client.connection_state() != async_nats::connection::State::Connected,
        };
        StoreError {
            sink: NAME.into(),
            message: format!("cannot publish record {id} to stream {}: {e}", self.options.stream),
            retryable,
        }
    }

    /// Messages in the stream (for tests and tools).
    pub async fn stream_messages(&self) -> Result<u64, StoreError> {
        let stream = self
            .jetstream
            .get_stream(&self.options.stream)
            .await
            .map_err(|e| StoreError::retryable(NAME, format!("cannot read stream {}: {e}", self.options.stream)))?;
        let info = stream
            .get_info()
            .await
            .map_err(|e| StoreError::retryable(NAME, format!("cannot read stream {}: {e}", self.options.stream)))?;
        Ok(info.state.messages)
    }

    /// Delete the stream and everything in it (for tests and tools).
    pub async fn delete_stream(&self) -> Result<(), StoreError> {
        self.jetstream
            .delete_stream(&self.options.stream)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::retryable(NAME, format!("cannot delete stream {}: {e}", self.options.stream)))
    }
}

impl Sink for NatsSink {
    fn name(&self) -> &str {
        NAME
    }

    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        // The stream was made at connect; making sure again is cheap and
        // covers a stream deleted since.
        Box::pin(self.ensure_stream())
    }

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.publish(&batch.records))
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async {
            if self.client.connection_state() != async_nats::connection::State::Connected {
                return Err(StoreError::retryable(NAME, "not connected to the nats server"));
            }
            // JetStream itself answers (it may lag the connection after a
            // server restart).
            self.stream_messages().await.map(|_| ())
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async {
            // Every write waited for its acks: flushing only sends what a
            // cancelled write may have left in the client's buffer.
            self.client
                .flush()
                .await
                .map_err(|e| StoreError::retryable(NAME, format!("cannot flush the nats connection: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(feed: &str, categories: &[&str]) -> Record {
        Record {
            schema: 1,
            id: "id1".into(),
            feed: feed.into(),
            feed_url: String::new(),
            guid: None,
            url: None,
            title: None,
            authors: vec![],
            published_at: None,
            updated_at: None,
            fetched_at: chrono::Utc::now(),
            language: None,
            summary: None,
            body: String::new(),
            word_count: 0,
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            content_hash: "h1".into(),
            source: newswire_core::Source::Feed,
            embeds: vec![],
            removed: vec![],
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    #[test]
    fn renders_subjects_with_sanitized_tokens() {
        let t = SubjectTemplate::parse("newswire.{feed}").expect("valid");
        assert_eq!(t.render(&record("BBC World", &[])), "newswire.BBC_World");
        assert_eq!(t.render(&record("a.b*c>d", &[])), "newswire.a_b_c_d");
        assert_eq!(t.render(&record("", &[])), "newswire._");
        assert_eq!(t.render(&record("Zürich", &[])), "newswire.Z_rich");
        assert_eq!(t.stream_subject(), "newswire.>");
        let t = SubjectTemplate::parse("news.{tag}.{feed}").expect("valid");
        assert_eq!(t.render(&record("f", &["Top Stories", "x"])), "news.Top_Stories.f");
        assert_eq!(t.render(&record("f", &[])), "news.untagged.f");
        assert_eq!(t.stream_subject(), "news.>");
        let t = SubjectTemplate::parse("news.all").expect("valid");
        assert_eq!(t.stream_subject(), "news.all");
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["{feed}", "news.x{feed}", "news..{feed}", "news.*", "news.>", "news.{other}", "a b.{feed}"] {
            let err = SubjectTemplate::parse(bad).expect_err(bad);
            assert!(!err.retryable);
        }
    }

    #[test]
    fn message_id_is_record_id_and_content_hash() {
        assert_eq!(message_id(&record("f", &[])), "id1:h1");
    }

    #[test]
    fn default_window_is_at_least_an_hour() {
        assert!(NatsOptions::default().duplicate_window >= Duration::from_secs(3600));
    }
}
