//! Rewriting one HTML body for open and click tracking (spec G-63..G-69, E-130..E-133;
//! DECISIONS Q-229, Q-230). Works on the bytes of an ASCII-compatible charset (UTF-8,
//! ISO-8859-x, windows-125x…): only ASCII markup is looked at, every other byte is copied.

/// One tag pair of an anchor's `ses:tags` (G-67).
pub type LinkTag = (String, String);

/// Where the tracking URLs come from: the caller signs them (the engine holds the key).
pub trait TrackingUrls {
    /// The open pixel's URL, `None` when opens are not tracked.
    fn open_url(&self) -> Option<String>;
    /// The redirect URL for link number `index` (0-based, in document order over the whole
    /// message) to `url` with its tags; `None` leaves the link alone (clicks not tracked, or
    /// one of the product's own URLs, Q-230).
    fn click_url(&self, index: usize, url: &str, tags: &[LinkTag]) -> Option<String>;
}

/// G-66: at most this many links of a message are tracked; later ones are left as they are.
pub const MAX_TRACKED_LINKS: usize = 250;

/// G-63: the placeholder the open pixel replaces.
pub const OPEN_TRACKER_PLACEHOLDER: &str = "{{ses:openTracker}}";

/// Counts `{{ses:openTracker}}` placeholders (G-63: more than one is a send error).
pub fn count_open_trackers(html: &[u8]) -> usize {
    let p = OPEN_TRACKER_PLACEHOLDER.as_bytes();
    html.windows(p.len()).filter(|w| *w == p).count()
}

/// The pixel element (G-63: 1×1, invisible, must not change how the message looks).
pub fn pixel_tag(url: &str) -> String {
    format!(
        "<img alt=\"\" src=\"{url}\" width=\"1\" height=\"1\" border=\"0\" style=\"height:1px !important;width:1px !important;border-width:0 !important;margin:0 !important;padding:0 !important\" />"
    )
}

/// State carried across the HTML parts of one message.
#[derive(Debug, Default)]
pub struct Counter {
    /// Links rewritten so far (G-66 cap).
    pub tracked: usize,
    /// HTML parts that received the pixel (each inline HTML part gets one).
    pub pixels: usize,
}

fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (from..=hay.len() - needle.len())
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

fn rfind_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// One attribute of a start tag: `span` covers the whitespace before it through its end.
struct Attr {
    span: (usize, usize),
    name: String,
    /// Byte range of the value without quotes.
    value: Option<(usize, usize)>,
}

/// Parses the attributes of the start tag whose name ends at `at`; returns them and the index
/// just past the closing `>`, or `None` for an unterminated tag.
fn parse_attrs(s: &[u8], mut at: usize) -> Option<(Vec<Attr>, usize)> {
    let mut attrs = Vec::new();
    loop {
        let start = at;
        while at < s.len() && s[at].is_ascii_whitespace() {
            at += 1;
        }
        if at >= s.len() {
            return None;
        }
        if s[at] == b'>' {
            return Some((attrs, at + 1));
        }
        if s[at] == b'/' {
            at += 1;
            continue;
        }
        let name_start = at;
        while at < s.len() && !s[at].is_ascii_whitespace() && !matches!(s[at], b'=' | b'>' | b'/') {
            at += 1;
        }
        let name = String::from_utf8_lossy(&s[name_start..at]).to_ascii_lowercase();
        let mut p = at;
        while p < s.len() && s[p].is_ascii_whitespace() {
            p += 1;
        }
        let mut value = None;
        if p < s.len() && s[p] == b'=' {
            p += 1;
            while p < s.len() && s[p].is_ascii_whitespace() {
                p += 1;
            }
            if p >= s.len() {
                return None;
            }
            if s[p] == b'"' || s[p] == b'\'' {
                let q = s[p];
                let end = s[p + 1..].iter().position(|&b| b == q)? + p + 1;
                value = Some((p + 1, end));
                at = end + 1;
            } else {
                let vs = p;
                while p < s.len() && !s[p].is_ascii_whitespace() && s[p] != b'>' {
                    p += 1;
                }
                value = Some((vs, p));
                at = p;
            }
        }
        if name.is_empty() {
            at += 1;
            continue;
        }
        attrs.push(Attr {
            span: (start, at),
            name,
            value,
        });
    }
}

/// The few character references that appear in URLs (`&amp;` above all).
fn decode_entities(v: &str) -> String {
    if !v.contains('&') {
        return v.to_string();
    }
    v.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x26;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// G-68/G-69: an absolute `http`/`https` URL made only of RFC 3986 characters, with valid
/// percent-encoding (an unencoded space, say, makes the link untracked).
pub fn trackable_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("http://") {
        r
    } else if let Some(r) = lower.strip_prefix("https://") {
        r
    } else {
        return false;
    };
    if rest.is_empty() || rest.starts_with('/') {
        return false;
    }
    let b = url.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c);
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// G-67: `key:value;key2:value2;` with keys and values of `0-9 A-Z a-z - _`; malformed pairs
/// are dropped.
pub fn parse_link_tags(v: &str) -> Vec<LinkTag> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    v.split(';')
        .filter_map(|pair| {
            let (k, val) = pair.split_once(':')?;
            let (k, val) = (k.trim(), val.trim());
            (ok(k) && ok(val)).then(|| (k.to_string(), val.to_string()))
        })
        .collect()
}

/// Rewrites one HTML body: links (when `urls.click_url` gives URLs), the open pixel (when
/// `urls.open_url` gives one) and the `ses:no-track`/`ses:tags` attributes (always removed,
/// G-65, G-67). `None` when nothing changed.
pub fn rewrite_html(
    html: &[u8],
    urls: &dyn TrackingUrls,
    counter: &mut Counter,
) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(html.len() + 256);
    let mut changed = false;
    let mut at = 0;
    let mut copied = 0;
    while at < html.len() {
        let Some(lt) = html[at..].iter().position(|&b| b == b'<').map(|p| p + at) else {
            break;
        };
        // Comments (including Outlook's conditional ones) are copied untouched.
        if html[lt..].starts_with(b"<!--") {
            at = match find_ci(html, b"-->", lt + 4) {
                Some(e) => e + 3,
                None => html.len(),
            };
            continue;
        }
        let is_anchor = html.len() > lt + 2
            && html[lt + 1].eq_ignore_ascii_case(&b'a')
            && (html[lt + 2].is_ascii_whitespace() || html[lt + 2] == b'>');
        if !is_anchor {
            at = lt + 1;
            continue;
        }
        let Some((attrs, end)) = parse_attrs(html, lt + 2) else {
            break;
        };
        at = end;
        let no_track = attrs.iter().any(|a| a.name == "ses:no-track");
        let tags: Vec<LinkTag> = attrs
            .iter()
            .filter(|a| a.name == "ses:tags")
            .filter_map(|a| a.value)
            .flat_map(|(s, e)| parse_link_tags(&String::from_utf8_lossy(&html[s..e])))
            .collect();
        let href = attrs
            .iter()
            .find(|a| a.name == "href")
            .and_then(|a| a.value);
        let mut replacement: Option<((usize, usize), String)> = None;
        if !no_track && counter.tracked < MAX_TRACKED_LINKS {
            if let Some((s, e)) = href {
                let raw = String::from_utf8_lossy(&html[s..e]);
                let url = decode_entities(raw.trim());
                if trackable_url(&url) {
                    if let Some(t) = urls.click_url(counter.tracked, &url, &tags) {
                        counter.tracked += 1;
                        replacement = Some(((s, e), t));
                    }
                }
            }
        }
        let strip: Vec<(usize, usize)> = attrs
            .iter()
            .filter(|a| a.name == "ses:no-track" || a.name == "ses:tags")
            .map(|a| a.span)
            .collect();
        if replacement.is_none() && strip.is_empty() {
            continue;
        }
        // Copy the tag with the href value replaced and the ses:* attributes left out.
        let mut edits: Vec<((usize, usize), Vec<u8>)> =
            strip.into_iter().map(|sp| (sp, Vec::new())).collect();
        if let Some((sp, t)) = replacement {
            edits.push((sp, t.into_bytes()));
        }
        edits.sort_by_key(|(sp, _)| sp.0);
        out.extend_from_slice(&html[copied..lt]);
        let mut p = lt;
        for ((s, e), with) in edits {
            out.extend_from_slice(&html[p..s]);
            out.extend_from_slice(&with);
            p = e;
        }
        out.extend_from_slice(&html[p..end]);
        copied = end;
        changed = true;
    }
    out.extend_from_slice(&html[copied..]);

    // The pixel: at the placeholder, else before the last </body>, else at the end (G-63,
    // Q-229). Without open tracking the placeholder is removed.
    let placeholder = OPEN_TRACKER_PLACEHOLDER.as_bytes();
    let pixel = urls.open_url().map(|u| pixel_tag(&u));
    let has_placeholder = count_open_trackers(&out) > 0;
    if pixel.is_some() || has_placeholder {
        let mut with = Vec::with_capacity(out.len() + 400);
        let mut rest: &[u8] = &out;
        let mut placed = false;
        while let Some(i) = rest
            .windows(placeholder.len())
            .position(|w| w == placeholder)
        {
            with.extend_from_slice(&rest[..i]);
            if let (Some(px), false) = (&pixel, placed) {
                with.extend_from_slice(px.as_bytes());
                placed = true;
            }
            rest = &rest[i + placeholder.len()..];
        }
        with.extend_from_slice(rest);
        if let (Some(px), false) = (&pixel, placed) {
            match rfind_ci(&with, b"</body") {
                Some(i) => {
                    with.splice(i..i, px.bytes());
                }
                None => with.extend_from_slice(px.as_bytes()),
            }
        }
        if pixel.is_some() {
            counter.pixels += 1;
        }
        out = with;
        changed = true;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test URLs: `T<index>[<url>]{k=v,…}` so the table can see what was asked.
    pub(crate) struct Fake {
        pub open: bool,
        pub click: bool,
    }

    impl TrackingUrls for Fake {
        fn open_url(&self) -> Option<String> {
            self.open.then(|| "https://r.test/o/TOKEN".to_string())
        }
        fn click_url(&self, index: usize, url: &str, tags: &[LinkTag]) -> Option<String> {
            let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.click.then(|| {
                format!(
                    "https://r.test/c/{index}?u={}&amp;t={}",
                    url.replace('&', "%26"),
                    tags.join(",")
                )
            })
        }
    }

    fn run(html: &str, open: bool, click: bool) -> String {
        let mut c = Counter::default();
        match rewrite_html(html.as_bytes(), &Fake { open, click }, &mut c) {
            Some(b) => String::from_utf8(b).unwrap(),
            None => html.to_string(),
        }
    }

    const PX: &str = "<img alt=\"\" src=\"https://r.test/o/TOKEN\"";

    /// G-63, E-131, Q-229: pixel at the placeholder, else before `</body>`, else at the end;
    /// without opens the placeholder disappears.
    #[test]
    fn pixel_placement() {
        let table: &[(&str, bool, &str)] = &[
            ("<p>a</p>", true, "<p>a</p><img"),
            ("<html><body><p>a</p></body></html>", true, "<p>a</p><img"),
            ("<BODY>x</BODY>", true, "x<img"),
            ("<p>{{ses:openTracker}}</p><p>b</p>", true, "<p><img"),
            ("<p>{{ses:openTracker}}</p>", false, "<p></p>"),
        ];
        for (html, open, want) in table {
            let got = run(html, *open, false);
            assert!(got.contains(want), "{html}: {got}");
            assert_eq!(got.matches("<img").count(), usize::from(*open), "{got}");
            assert!(!got.contains("openTracker"), "{got}");
        }
        let got = run("<html><body><p>a</p></body></html>", true, false);
        assert!(got.ends_with("/></body></html>"), "{got}");
        assert!(got.contains(PX));
    }

    /// G-64, G-65, G-67, G-68, G-69, Q-230: which links are rewritten, attribute removal.
    #[test]
    fn link_rewriting_table() {
        let table: &[(&str, &str)] = &[
            (
                r#"<a href="http://a.example/x">x</a>"#,
                r#"<a href="https://r.test/c/0?u=http://a.example/x&amp;t=">x</a>"#,
            ),
            (
                r#"<A HREF='https://a.example/?q=1&amp;r=2' class="b">x</A>"#,
                r#"<A HREF='https://r.test/c/0?u=https://a.example/?q=1%26r=2&amp;t=' class="b">x</A>"#,
            ),
            (
                r#"<a ses:tags="k1:v1;k2:v2;" href="https://a.example/">x</a>"#,
                r#"<a href="https://r.test/c/0?u=https://a.example/&amp;t=k1=v1,k2=v2">x</a>"#,
            ),
            (
                r#"<a ses:no-track href="https://a.example/">x</a>"#,
                r#"<a href="https://a.example/">x</a>"#,
            ),
            (
                r#"<a href="https://a.example/" ses:no-track="" ses:tags="a:b">x</a>"#,
                r#"<a href="https://a.example/">x</a>"#,
            ),
            // Not http(s), or not valid RFC 3986: untouched (G-69).
            (
                r#"<a href="mailto:x@y.z">m</a>"#,
                r#"<a href="mailto:x@y.z">m</a>"#,
            ),
            (
                r#"<a href="https://a.example/?q=a b">s</a>"#,
                r#"<a href="https://a.example/?q=a b">s</a>"#,
            ),
            (
                r#"<a href="https://a.example/%zz">s</a>"#,
                r#"<a href="https://a.example/%zz">s</a>"#,
            ),
            // Comments, other tags and anchors without href.
            (
                r#"<!-- <a href="http://c.example/"> --><abbr href="http://d.example/">"#,
                r#"<!-- <a href="http://c.example/"> --><abbr href="http://d.example/">"#,
            ),
            (r#"<a name="top">t</a>"#, r#"<a name="top">t</a>"#),
        ];
        for (html, want) in table {
            assert_eq!(run(html, false, true), *want, "{html}");
        }
    }

    /// G-66: the 251st link stays as it was.
    #[test]
    fn at_most_250_links() {
        let html: String = (0..260)
            .map(|i| format!("<a href=\"https://a.example/{i}\">{i}</a>\n"))
            .collect();
        let got = run(&html, false, true);
        assert_eq!(got.matches("https://r.test/c/").count(), 250);
        assert!(got.contains("https://r.test/c/249?u=https://a.example/249&"));
        assert!(got.contains("<a href=\"https://a.example/250\">"));
        assert!(got.contains("<a href=\"https://a.example/259\">"));
    }

    /// G-67: only well-formed pairs.
    #[test]
    fn link_tag_parsing() {
        let table: &[(&str, &[(&str, &str)])] = &[
            ("a:b;c:d;", &[("a", "b"), ("c", "d")]),
            (" a : b ; c:d", &[("a", "b"), ("c", "d")]),
            ("a:b c;x-y:z_1;bad;:v;k:", &[("x-y", "z_1")]),
        ];
        for (v, want) in table {
            let got = parse_link_tags(v);
            let want: Vec<LinkTag> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want, "{v}");
        }
    }

    #[test]
    fn untouched_without_anything_to_do() {
        let mut c = Counter::default();
        let f = Fake {
            open: false,
            click: true,
        };
        assert!(rewrite_html(b"<p>no links</p>", &f, &mut c).is_none());
        assert_eq!(
            count_open_trackers(b"{{ses:openTracker}} {{ses:openTracker}}"),
            2
        );
    }
}
