//! newswire-fetcher: documents in from the web and the disk, feeds out.
//!
//! - [`Fetcher`]: one shared HTTP client (two, in fact: one that may reach
//!   private addresses, for feeds that allow it, and one that may not) with
//!   connect and total timeouts, a cap on the body after decompression,
//!   conditional GET, and redirects followed by hand so every hop is checked
//!   against the [address guard](guard). `file://` URLs are read from disk,
//!   but only when the request says the URL came from the config itself.
//! - [`parse_feed`]: RSS 0.9x/1.0/2.0, Atom and JSON Feed through feed-rs
//!   into [`RawItem`]s: the item as published, before any cleaning.
//!
//! What it deliberately does not do: cleaning (newswire-cleaner), storage
//! (newswire-storer; state is read by the caller and passed in), or
//! scheduling (the binary). It never decides whether an item is new.

pub mod fetch;
pub mod guard;
pub mod parse;

pub use fetch::{Document, FetchError, FetchRequest, Fetched, Fetcher, FetcherOptions};
pub use parse::parse_feed_with;
pub use parse::{ParseError, ParsedFeed, RawItem, parse_feed};
