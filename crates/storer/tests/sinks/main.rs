//! Integration tests of the sinks against real servers.
//!
//! One test binary (one link) for every sink. The PostgreSQL and NATS tests
//! read `NEWSWIRE_TEST_POSTGRES_URL` and `NEWSWIRE_TEST_NATS_URL` and skip,
//! saying so, when they are unset; each test works in its own schema or
//! stream, named with a random suffix and dropped at the end, so runs never
//! collide. The webhook tests run their receiver in the test.
//! The PostgreSQL and NATS tests are compiled with the features of
//! the same names (on by default).

mod contract;
mod index;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "postgres")]
mod postgres;
mod read;
mod sqlite;
mod webhook;
