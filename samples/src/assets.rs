//! Noise a real sign-in capture is full of: CDN style sheets, script bundles,
//! images and favicons. All bodies are generated here.

use crate::util::{ico_with_png, png, Rng};

pub const CSS_URL: &str = "https://aadcdn.msftauth.net/ests/2.1/content/cdnbundles/converged.v2.login.min_81imvbluez-v5hbzpkxfcg2.css";
pub const JS_URL: &str = "https://aadcdn.msftauth.net/shared/1.0/content/js/ConvergedLogin_PCore_Kx3c1mQe2bqWr7tYbJ0d5A2.js";
pub const LOGO_URL: &str = "https://aadcdn.msftauth.net/shared/1.0/content/images/microsoft_logo_564db913a7fa0ca42727161c6d031bef.png";
pub const FAVICON_URL: &str =
    "https://aadcdn.msftauth.net/shared/1.0/content/images/favicon_a_eupayfgghqiai7k9sol6lg2.ico";

/// Response headers of the static CDN.
pub fn cdn_headers(rng: &mut Rng, mime: &str) -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), mime.into()),
        ("Access-Control-Allow-Origin".into(), "*".into()),
        (
            "Cache-Control".into(),
            "public, max-age=31536000, immutable".into(),
        ),
        ("Content-MD5".into(), format!("{}==", rng.token("", 22))),
        ("ETag".into(), format!("0x8DC{}", rng.upper(12))),
        (
            "Last-Modified".into(),
            "Tue, 06 Oct 2026 17:42:09 GMT".into(),
        ),
        ("x-ms-request-id".into(), rng.guid()),
        ("x-ms-version".into(), "2009-09-19".into()),
        ("x-ms-lease-status".into(), "unlocked".into()),
        ("x-ms-blob-type".into(), "BlockBlob".into()),
        ("Timing-Allow-Origin".into(), "*".into()),
        ("X-Cache".into(), "TCP_HIT".into()),
        ("Age".into(), rng.range(1000, 900_000).to_string()),
    ]
}

pub fn css() -> Vec<u8> {
    let mut s = String::from("/*! Copyright (C) Microsoft Corporation. All rights reserved. */\n");
    for (i, sel) in [
        "body.cb",
        ".inner",
        ".lightbox-cover",
        ".win-button",
        ".form-control",
        ".alert-error",
        ".table-row",
        ".tile-img",
        ".identityBanner",
        ".backButton",
        ".row.tile",
        ".footerNode",
        ".text-title",
        ".text-13",
        ".display-sign-container",
    ]
    .iter()
    .enumerate()
    {
        s.push_str(&format!(
            "{sel}{{position:relative;max-width:{}px;margin:0 auto;padding:{}px;font-family:\"Segoe UI\",\"Helvetica Neue\",sans-serif;background:url(\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E\")}}\n",
            440 + i * 4,
            i % 7 + 4
        ));
    }
    s.push_str(".glyph:before{content:\"\\e72b\"}\n.arrow:after{content:\"\\2192\"}\n");
    s.into_bytes()
}

/// A small stand-in for the converged sign-in bundle (a few KB).
pub fn converged_js() -> Vec<u8> {
    let mut rng = Rng::new(7);
    js_bundle(&mut rng, 6 * 1024)
}

/// A minified-looking script of about `size` bytes, full of the characters that make
/// JSON string escaping interesting: quotes, backslashes, `\u` escapes, regexes,
/// non-ASCII text and U+2028.
pub fn js_bundle(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 512);
    s.push_str("/*! For license information please see bundle.LICENSE.txt */\n!function(e){var t={};function n(r){if(t[r])return t[r].exports;var o=t[r]={i:r,l:!1,exports:{}};return e[r].call(o.exports,o,o.exports,n),o.l=!0,o.exports}n.m=e,n.c=t,n(n.s=0)}([");
    let mut i = 0u32;
    while s.len() < size {
        let id = rng.hex(6);
        let n = rng.range(2, 99);
        match i % 6 {
            0 => s.push_str(&format!(
                "function(e,t,n){{\"use strict\";var r=\"{id}\",o='it\\'s',a=/^[\\w.+-]+@[\\w-]+\\.[\\w.-]+$/,u=\"\\u00e9t\\u00e9 \\u2014 \\\"quoted\\\"\";e.exports={{id:r,q:o,re:a,t:u,n:{n}}}}},"
            )),
            1 => s.push_str(&format!(
                "function(e,t){{t.str={{STR_Error_Title:\"Sorry, but we\\u2019re having trouble signing you in.\",STR_Path:\"C:\\\\Windows\\\\Temp\\\\{id}\",STR_Mixed:\"Ünïcödé ✓ — \u{2028}line\",STR_Tab:\"a\\tb\\nc\"}}}},"
            )),
            2 => s.push_str(&format!(
                "function(e,t,n){{var r=n({n}),o=n({});t.render=function(e){{return\"<div class=\\\"row\\\" data-bind=\\\"text: str['{id}']\\\"></div>\"+o(e.replace(/\\\\/g,\"\\\\\\\\\"))}}}},",
                n + 1
            )),
            3 => s.push_str(&format!(
                "function(e,t){{var n=JSON.parse('{{\"k\":\"v{id}\",\"esc\":\"\\\\u0041\\\\\\\\\"}}');t.x=n;t.y=\"\\x3cscript\\x3e\";t.z=`template ${{n.k}} \\` tick`}},"
            )),
            4 => s.push_str(&format!(
                "function(e,t,n){{t.poll=function(r){{var i={n}e3,o=1.04;return setTimeout(function(){{r(i*=o)}},i)}};t.ctrl=\"\\u0000\\u001f\\u007f\"}},"
            )),
            _ => {
                let blob = rng.token("", 120);
                s.push_str(&format!("function(e,t){{t.b64=\"{blob}\";t.sum={n}}},"));
            }
        }
        i += 1;
    }
    s.push_str("function(e,t){}]);\n//# sourceMappingURL=bundle.js.map\n");
    s.into_bytes()
}

/// The Microsoft-ish four-square logo as a real PNG.
pub fn logo_png() -> Vec<u8> {
    png(24, 24, |x, y| {
        let (l, t) = (x < 12, y < 12);
        let inner = x != 11 && x != 12 && y != 11 && y != 12;
        if !inner {
            [0, 0, 0, 0]
        } else {
            match (l, t) {
                (true, true) => [0xf2, 0x50, 0x22, 0xff],
                (false, true) => [0x7f, 0xba, 0x00, 0xff],
                (true, false) => [0x00, 0xa4, 0xef, 0xff],
                (false, false) => [0xff, 0xb9, 0x00, 0xff],
            }
        }
    })
}

pub fn favicon() -> Vec<u8> {
    ico_with_png(
        16,
        &png(16, 16, |x, y| [(x * 16) as u8, (y * 16) as u8, 0x80, 0xff]),
    )
}

/// A noisy photo-like PNG of roughly `size` bytes (for the benchmark file).
pub fn noise_png(rng: &mut Rng, size: usize) -> Vec<u8> {
    let side = ((size / 4) as f64).sqrt().max(8.0) as u32;
    let seed = rng.next_u64();
    png(side, side, move |x, y| {
        let v = (x as u64).wrapping_mul(2_654_435_761) ^ (y as u64).wrapping_mul(40_503) ^ seed;
        let v = v ^ (v >> 13);
        [v as u8, (v >> 8) as u8, (v >> 16) as u8, 0xff]
    })
}
