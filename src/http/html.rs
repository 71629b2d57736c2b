//! The one HTML scanner for the pages that sign-in traffic carries: start tags
//! by name, their attributes with byte spans, forms and their fields, and the
//! character references that attribute values use. The identity layer reads
//! pages with it and the redactor masks them with it, so both see the same tags.
//!
//! It follows the HTML tokenizer (HTML Living Standard §13.2.5) where sign-in
//! pages need it, without building a tree:
//! - a quoted attribute value may hold `>` (§13.2.5.36–37): AD FS escapes only
//!   `<` in the SAML token of its `wresult` field;
//! - attributes are read in order, so `name=` inside another attribute's value
//!   is never taken for an attribute;
//! - tag and attribute names compare ASCII case-insensitively;
//! - a tag written inside a JavaScript string reads the same: `value=\"…\"`
//!   (Microsoft-account pages put `<input … value=\"…\"/>` in `sFTTag`);
//! - a quote that never closes is a broken tag, read up to its first `>`, and
//!   its value counts as unclosed (not a value to read, still one to mask).

use std::borrow::Cow;

/// A start tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'h> {
    /// Byte offset of its `<` in the page.
    pub start: usize,
    /// Byte offset of the attribute text (just after the tag name).
    pub attrs_start: usize,
    /// The attribute text, up to (not including) the closing `>`.
    pub attrs: &'h str,
    /// Byte offset just past the closing `>` (the page's end if there is none).
    pub end: usize,
}

/// One attribute of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'h> {
    pub name: &'h str,
    /// The value without its quotes; empty for an attribute without one.
    pub value: &'h str,
    /// The value's byte span in the page.
    pub span: (usize, usize),
    /// False for a quoted value whose quote never closes (it runs to the tag's end).
    pub closed: bool,
}

impl<'h> Tag<'h> {
    /// The attributes in order.
    pub fn attributes(&self) -> Attributes<'h> {
        Attributes {
            text: self.attrs,
            offset: self.attrs_start,
            pos: 0,
        }
    }

    /// The first attribute named `name` (ASCII case ignored), closed or not.
    pub fn attribute(&self, name: &str) -> Option<Attribute<'h>> {
        self.attributes()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The value of attribute `name`, when it is there and well formed.
    pub fn value(&self, name: &str) -> Option<&'h str> {
        self.attribute(name).filter(|a| a.closed).map(|a| a.value)
    }
}

/// The start tags named `name` (ASCII case ignored) in `html`, in order. A tag
/// inside another tag's attribute value is not one.
pub fn start_tags<'h, 'n>(html: &'h str, name: &'n str) -> impl Iterator<Item = Tag<'h>> + 'n
where
    'h: 'n,
{
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = find_start_tag(html.as_bytes(), from, name)?;
        let tag = tag_at(html, start, start + 1 + name.len());
        from = tag.end;
        Some(tag)
    })
}

/// The tag that starts at `start` and whose attribute text starts at
/// `attrs_start` (just after its name, which may carry an XML prefix).
pub fn tag_at(page: &str, start: usize, attrs_start: usize) -> Tag<'_> {
    let rest = page.get(attrs_start..).unwrap_or("");
    let close = tag_end(rest);
    Tag {
        start,
        attrs_start,
        attrs: &rest[..close],
        end: (attrs_start + close + 1).min(page.len()),
    }
}

/// The next `<name` at or after `from` that starts a tag of that name (the
/// name followed by a space, `/`, `>` or the end).
fn find_start_tag(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let name = name.as_bytes();
    memchr::memchr_iter(b'<', bytes.get(from..)?)
        .map(|i| from + i)
        .find(|&i| {
            let after = i + 1 + name.len();
            bytes
                .get(i + 1..after)
                .is_some_and(|s| s.eq_ignore_ascii_case(name))
                && bytes
                    .get(after)
                    .is_none_or(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        })
}

/// The offset of the `>` that closes a tag whose attribute text starts `rest`
/// (its length when there is none). Quotes count only where a value starts.
fn tag_end(rest: &str) -> usize {
    let b = rest.as_bytes();
    let mut i = 0;
    let mut after_equals = false;
    while i < b.len() {
        match b[i] {
            b'>' => return i,
            b'=' => after_equals = true,
            c if c.is_ascii_whitespace() => {}
            _ if after_equals => {
                let Some((open, close)) = opening_quote(&b[i..]) else {
                    after_equals = false;
                    i += 1;
                    continue;
                };
                match find_close(&b[i + open..], close) {
                    Some(n) => i += open + n + close.len(),
                    // A quote that never closes: a broken tag, up to its first `>`.
                    None => return memchr::memchr(b'>', b).unwrap_or(b.len()),
                }
                after_equals = false;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The length of a value's opening quote at the start of `b`, and its closing
/// sequence: `"`, `'`, or the JavaScript-escaped `\"` and `\'`.
fn opening_quote(b: &[u8]) -> Option<(usize, &'static [u8])> {
    match b {
        [b'"', ..] => Some((1, b"\"")),
        [b'\'', ..] => Some((1, b"'")),
        [b'\\', b'"', ..] => Some((2, b"\\\"")),
        [b'\\', b'\'', ..] => Some((2, b"\\'")),
        _ => None,
    }
}

/// Where the closing sequence of a quoted value (`"`, `'`, `\"`, `\'`) first
/// occurs in `b`. A one-byte quote by `memchr`: `memmem` builds a searcher on
/// every call, which cost more than the search in the short values of a tag
/// (each read three times: the tag's end, `name`, `value`; issue #15).
fn find_close(b: &[u8], close: &[u8]) -> Option<usize> {
    match close {
        [quote] => memchr::memchr(*quote, b),
        _ => memchr::memmem::find(b, close),
    }
}

/// The attributes of a tag, read in order (§13.2.5.32–39).
pub struct Attributes<'h> {
    text: &'h str,
    /// Offset of `text` in the page.
    offset: usize,
    pos: usize,
}

impl<'h> Iterator for Attributes<'h> {
    type Item = Attribute<'h>;

    fn next(&mut self) -> Option<Attribute<'h>> {
        let b = self.text.as_bytes();
        let mut i = self.pos;
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        // A name is at least one byte, so an `=` that starts one belongs to it.
        if i == name_start {
            i += 1;
        }
        let name = &self.text[name_start..i];
        let mut j = skip_space(b, i);
        if b.get(j) != Some(&b'=') {
            self.pos = i;
            return Some(self.attribute(name, (i, i), true));
        }
        j = skip_space(b, j + 1);
        let (span, closed, next) = value_span(b, j);
        self.pos = next;
        Some(self.attribute(name, span, closed))
    }
}

impl<'h> Attributes<'h> {
    fn attribute(&self, name: &'h str, (s, e): (usize, usize), closed: bool) -> Attribute<'h> {
        Attribute {
            name,
            value: &self.text[s..e],
            span: (self.offset + s, self.offset + e),
            closed,
        }
    }
}

/// The value starting at `j`: its span, whether it is closed, and where the
/// next attribute may start.
fn value_span(b: &[u8], j: usize) -> ((usize, usize), bool, usize) {
    if let Some((open, close)) = opening_quote(&b[j..]) {
        let start = j + open;
        return match find_close(&b[start..], close) {
            Some(n) => ((start, start + n), true, start + n + close.len()),
            None => ((start, b.len()), false, b.len()),
        };
    }
    let mut end = j;
    while end < b.len() && !b[end].is_ascii_whitespace() {
        end += 1;
    }
    // `value=abc/>`: the slash closes the tag (self-closing), it is not the value's.
    let value_end = if end == b.len() && end > j && b[end - 1] == b'/' {
        end - 1
    } else {
        end
    };
    ((j, value_end), true, end)
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// A `<form>` and the text up to its `</form>` (or the page's end).
#[derive(Debug, Clone, Copy)]
pub struct Form<'h> {
    pub tag: Tag<'h>,
    pub inner: &'h str,
}

/// The forms of a page, in order.
pub fn forms(html: &str) -> impl Iterator<Item = Form<'_>> {
    start_tags(html, "form").map(move |tag| {
        let close = find_end_tag(html.as_bytes(), tag.end, b"</form").unwrap_or(html.len());
        Form {
            tag,
            inner: &html[tag.end.min(close)..close],
        }
    })
}

fn find_end_tag(bytes: &[u8], from: usize, tag: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'<', bytes.get(from..)?)
        .map(|i| from + i)
        .find(|&i| {
            bytes
                .get(i..i + tag.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(tag))
        })
}

/// `(name, value)` of the `<input>` elements that have both, values with their
/// character references decoded: the fields a form (or a script) posts.
/// Borrowed from the page where nothing is decoded: a sign-in page is read for
/// its fields several times, and two strings per field were most of the
/// allocations of reading one (issue #15).
pub fn input_fields(html: &str) -> Vec<(&str, Cow<'_, str>)> {
    start_tags(html, "input")
        .filter_map(|tag| Some((tag.value("name")?, tag.value("value")?)))
        .map(|(name, value)| (name, entities_decoded(value)))
        .collect()
}

/// [`decode_entities`], borrowed when there is no reference to decode.
pub fn entities_decoded(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', s.as_bytes()).is_none() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(decode_entities(s))
    }
}

/// The character references that attribute values in sign-in pages use.
const ENTITIES: [(&str, &str); 5] = [
    ("&quot;", "\""),
    ("&#39;", "'"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&amp;", "&"),
];

/// Decodes the character references that attribute values in sign-in pages use,
/// in one pass (a posted SAML token is tens of KB of `&quot;`s). A reference
/// runs from `&` to `;` with neither inside, so references never overlap and
/// what one decodes to is never read again.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let from_amp = &rest[at..];
        let (text, len) = ENTITIES
            .iter()
            .find(|(entity, _)| from_amp.starts_with(entity))
            .map_or(("&", 1), |(entity, text)| (*text, entity.len()));
        out.push_str(text);
        rest = &from_amp[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_as_one_replacement_after_another_would() {
        let reference = |s: &str| {
            s.replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        };
        let pieces = [
            "&", "amp;", "quot;", "lt;", "gt;", "#39;", ";", "a", "é", "&amp;",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            let mut s = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            assert_eq!(decode_entities(&s), reference(&s), "{s:?}");
        }
    }

    #[test]
    fn a_quoted_value_may_hold_a_closing_angle_bracket() {
        let html = r#"<input type="hidden" name="wresult" value="&lt;t:R x=&quot;1&quot;>&lt;t:L>" /><input name=b value=2>"#;
        let tags: Vec<Tag> = start_tags(html, "input").collect();
        assert_eq!(tags.len(), 2);
        assert_eq!(
            tags[0].value("value"),
            Some("&lt;t:R x=&quot;1&quot;>&lt;t:L>")
        );
        let span = tags[0].attribute("value").unwrap().span;
        assert_eq!(&html[span.0..span.1], "&lt;t:R x=&quot;1&quot;>&lt;t:L>");
        assert_eq!(
            input_fields(html),
            [("wresult", "<t:R x=\"1\"><t:L>".into()), ("b", "2".into())]
        );
    }

    #[test]
    fn attributes_are_read_in_order_in_any_case() {
        let html = r#"<INPUT Type='hidden' title="name=evil value=x" NAME=code VALUE="a b"/>"#;
        let tag = start_tags(html, "input").next().unwrap();
        assert_eq!(tag.value("name"), Some("code"));
        assert_eq!(tag.value("value"), Some("a b"));
        let names: Vec<&str> = tag.attributes().map(|a| a.name).collect();
        assert_eq!(names, ["Type", "title", "NAME", "VALUE"]);
        // Only whole tag names: `<inputs` is not an `<input`.
        assert_eq!(start_tags("<inputs name=a value=b>", "input").count(), 0);
        // Self-closing after an unquoted value.
        let tag = start_tags("<input name=a value=b/>", "input")
            .next()
            .unwrap();
        assert_eq!(tag.value("value"), Some("b"));
    }

    #[test]
    fn tags_inside_javascript_strings() {
        let js = r#"sFTTag:'<input type="hidden" name="PPFT" id="i0327" value="DQ>Ab!"/>',x:1"#;
        assert_eq!(input_fields(js), [("PPFT", "DQ>Ab!".into())]);
        let escaped = r#"{"sFTTag":"<input type=\"hidden\" name=\"PPFT\" value=\"Z>9\"/>"}"#;
        assert_eq!(input_fields(escaped), [("PPFT", "Z>9".into())]);
    }

    #[test]
    fn broken_tags_do_not_borrow_the_next_one() {
        let html = "<input type=\"hidden\" name=\"code\" title='it><input type=\"hidden\" name=\"x\" value=\"y\">";
        assert_eq!(input_fields(html), [("x", "y".into())]);
        let first = start_tags(html, "input").next().unwrap();
        let title = first.attribute("title").unwrap();
        assert!(!title.closed);
        // An apostrophe inside an unquoted value is text.
        let html = "<input type=hidden name=ru value=o'neil><input name=code value=abc>";
        assert_eq!(
            input_fields(html),
            [("ru", "o'neil".into()), ("code", "abc".into())]
        );
    }

    #[test]
    fn forms_and_their_fields() {
        let html = r#"<form action="/lang"><input name=l value=de></form><FORM method=post action="https://app/x?a=1&amp;b=2"><input name=code value=c></FORM>"#;
        let forms: Vec<Form> = forms(html).collect();
        assert_eq!(forms.len(), 2);
        assert_eq!(input_fields(forms[0].inner), [("l", "de".into())]);
        assert_eq!(
            forms[1].tag.value("action").map(decode_entities).as_deref(),
            Some("https://app/x?a=1&b=2")
        );
    }

    #[test]
    fn hostile_text_never_panics() {
        for html in [
            "<",
            "<input",
            "<input name=",
            "<input name=\"",
            "<input =>",
            "<input \\",
            "<form",
            "<input\u{e9}=\u{e9}>",
        ] {
            let _ = input_fields(html);
            let _ = forms(html).count();
            for t in start_tags(html, "input") {
                let _ = t.attributes().count();
            }
        }
    }
}
