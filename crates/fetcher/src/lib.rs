//! newswire-fetcher: documents in from the web and the disk, feeds out.
//!
//! - [`Fetcher`]: shared HTTP clients (one per combination of
//!   `allow_private` and proxy) with connect and total timeouts, a cap on
//!   the body after decompression, conditional GET, per-host concurrency and
//!   rate limits, retries with backoff and Retry-After, and redirects
//!   followed by hand so every hop is checked against the
//!   [address guard](guard). `file://` URLs are read from disk, but only
//!   when the request says the URL came from the config itself.
//! - [`parse_feed_with`]: RSS 0.9x/1.0/2.0, RDF, Atom 0.3/1.0 and JSON Feed
//!   into [`RawItem`]s, the item as published, before any cleaning: charset
//!   detection and repair, a lenient quick-xml reader, feed-rs as the
//!   fallback (docs/feed-parsing.md).
//!
//! - [`discover`]: the feeds a site page declares or serves at common paths.
//! - [`opml`]: reading and writing the OPML feed lists other readers use.
//!
//! What it deliberately does not do: cleaning (newswire-cleaner), storage
//! (newswire-storer; state is read by the caller and passed in), or
//! scheduling (newswire-pipeline). It never decides whether an item is new.

pub mod discover;
pub mod fetch;
pub mod guard;
mod hosts;
pub mod opml;
pub mod page;
pub mod parse;
pub mod robots;

pub use fetch::{
    Document, FetchError, FetchRequest, Fetched, Fetcher, FetcherOptions, check_destination, guarded_client,
};
pub use hosts::HostWait;
pub use parse::{FeedPages, ParseError, ParsedFeed, RawItem, parse_feed, parse_feed_with};
