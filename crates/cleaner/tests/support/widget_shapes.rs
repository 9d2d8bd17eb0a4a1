//! Shapes for the cleaner's markup guard, about 1 MiB each: every element
//! a widget by its class, each judged with its subtree, its group and the
//! heading before it. Their text is a large share of the item, so the
//! guard keeps it all. Shared by tests/nested.rs (the text is kept) and the
//! clean bench (how long it takes). The extractor judges page furniture by
//! its own rules, so these are the cleaner's only.

/// Every shape: a name and at least `size` bytes of HTML, holding the word
/// "words" as text.
pub fn widget_shapes(size: usize) -> Vec<(&'static str, String)> {
    let open = "<div class=\"share\">";
    let n = size / (open.len() + "</div>".len()) + 1;
    let nesting = format!("{}{}{}", open.repeat(n), "words ".repeat(60), "</div>".repeat(n));
    let mut cards = String::with_capacity(size + 512);
    let mut i = 0;
    while cards.len() < size {
        cards.push_str(&format!(
            "<h3 class=\"related\">Card {i}</h3><div class=\"share\"><p>{}</p></div>",
            "words ".repeat(40)
        ));
        i += 1;
    }
    vec![("share wrapper nesting", nesting), ("share cards", cards)]
}
