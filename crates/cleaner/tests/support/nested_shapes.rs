//! Pathological HTML shapes: about 1 MiB of nested or unclosed tags each,
//! the markup that makes html5ever's tree builder quadratic. Shared by
//! tests/nested.rs (the output is sane) and the benches (how long it takes).

/// The size of each shape.
pub const SIZE: usize = 1 << 20;

/// `unit(i)` repeated until the text reaches `size` bytes, then `tail`.
fn repeat(size: usize, mut unit: impl FnMut(usize) -> String, tail: impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(size + 64);
    let mut n = 0;
    while out.len() < size {
        out.push_str(&unit(n));
        n += 1;
    }
    out.push_str(&tail(n));
    out
}

/// `open` nested `n` times around a text, then `close` as often, `n` chosen
/// so the whole is about `size` bytes.
fn nested(size: usize, open: &str, close: &str) -> String {
    let n = size / (open.len() + close.len()) + 1;
    format!("{}deep words here{}", open.repeat(n), close.repeat(n))
}

/// Every shape: a name and about [`SIZE`] bytes of HTML. Each holds the
/// word "words" as text, which the cleaner must keep.
pub fn shapes(size: usize) -> Vec<(&'static str, String)> {
    vec![
        ("div nesting", nested(size, "<div>", "</div>")),
        ("span nesting", nested(size, "<span>", "</span>")),
        ("b/i nesting", nested(size, "<b><i>", "</i></b>")),
        ("unclosed b/i", repeat(size, |_| "<b><i>words ".to_string(), |_| String::new())),
        (
            "unclosed b/i, attrs",
            repeat(size, |i| format!("<b class=\"c{i}\"><i id=\"i{i}\">words "), |_| String::new()),
        ),
        ("b/i across p", repeat(size, |i| format!("<p><b id=\"b{i}\"><i>words</p>"), |_| String::new())),
        ("misnested b/div", repeat(size, |_| "<b><div>words</b>".to_string(), |_| String::new())),
        ("misnested a/p", repeat(size, |i| format!("<a href=\"/{i}\"><p>words</a>"), |_| String::new())),
        ("a nesting", nested(size, "<a href=\"/x\">", "</a>")),
        ("unclosed a", repeat(size, |i| format!("<a href=\"/{i}\">words "), |_| String::new())),
        ("table nesting", nested(size, "<table><tr><td>", "</td></tr></table>")),
        ("unclosed tables", repeat(size, |_| "<table><tr><td>words ".to_string(), |_| String::new())),
        ("misnested span/div", repeat(size, |_| "<span><div>words</span>".to_string(), |_| String::new())),
        ("misnested div/table", repeat(size, |_| "<div><table>words</div>".to_string(), |_| String::new())),
        (
            "many attributes",
            repeat(
                size,
                |i| if i == 0 { "<p ".to_string() } else { format!("a{i}=\"x\" ") },
                |_| ">words</p>".to_string(),
            ),
        ),
        ("ul/li nesting", nested(size, "<ul><li>", "</li></ul>")),
        ("unclosed ul/li", repeat(size, |_| "<ul><li>words ".to_string(), |_| String::new())),
    ]
}
