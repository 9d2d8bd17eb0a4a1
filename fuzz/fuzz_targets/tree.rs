//! newswire's tree builder against html5ever, under what the builder
//! promises: on any input it does not report as leaving the standard's
//! algorithm (adoption agency, foster parenting, select, frameset), the
//! text line by line and the outline of non-formatting elements are
//! html5ever's, in page and fragment mode (docs/extraction.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else { return };
    if let Err(mismatch) = newswire_cleaner::tree_promise::check(html) {
        panic!("{html:?}\n{mismatch}");
    }
});
