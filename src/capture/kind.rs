//! What a file is when it is not a trace: named from its first bytes, with what
//! to do instead, so "not a trace" never leaves a user with hex bytes only. The
//! common mix-ups come first: the TLS key log given as the trace, a screenshot
//! or a PDF sent instead of the export, an archive meant for `batch`, an HTML
//! page saved instead of a HAR.

/// A sentence naming what `head` (the first bytes of a file) is and what to do,
/// or `None` when it looks like nothing known.
pub fn describe(head: &[u8]) -> Option<&'static str> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    MAGIC
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, what)| *what)
        .or_else(|| is_tar(head).then_some(TAR))
        .or_else(|| text_kind(text))
}

const TAR: &str = "a tar archive: run `aadtrace batch` on it to analyse the traces inside";

/// Leading bytes of binary formats.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "a PNG image, not a trace: ask for the HAR, SAZ, NetLog or capture file itself (docs/capturing.md)"),
    (b"\xff\xd8\xff", "a JPEG image, not a trace: ask for the HAR, SAZ, NetLog or capture file itself (docs/capturing.md)"),
    (b"GIF8", "a GIF image, not a trace: ask for the HAR, SAZ, NetLog or capture file itself (docs/capturing.md)"),
    (b"%PDF-", "a PDF document, not a trace: ask for the HAR, SAZ, NetLog or capture file itself (docs/capturing.md)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive: extract it, then analyse the traces inside (or `aadtrace batch` the folder)"),
    (b"Rar!\x1a\x07", "a RAR archive: extract it, then analyse the traces inside (or `aadtrace batch` the folder)"),
    (b"\x7fELF", "a program (ELF executable), not a trace"),
    (b"MZ", "a Windows program or library, not a trace"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document (OLE), not a trace"),
    (b"\xff\xfe", "UTF-16 text, which no trace format uses: if it is a key log, pass it with --keylog; if it is a HAR, save it again as UTF-8"),
];

/// A POSIX tar header: `ustar` at offset 257.
fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// Text formats, by their first line.
fn text_kind(text: &[u8]) -> Option<&'static str> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or(text);
    let lower =
        String::from_utf8_lossy(&first_line[..first_line.len().min(64)]).to_ascii_lowercase();
    if is_key_log(text) {
        return Some("a TLS key log (SSLKEYLOGFILE), not a capture: pass it with --keylog next to the capture it decrypts (`aadtrace analyze capture.pcapng --keylog THIS`)");
    }
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Some("an HTML page, not a trace: a saved web page has no requests in it; export a HAR from the browser's developer tools instead (docs/capturing.md)");
    }
    if lower.starts_with("<?xml") {
        return Some("an XML document, not a trace aadtrace reads");
    }
    if lower.starts_with("-----begin") {
        return Some("a PEM certificate or key, not a trace: a TLS private key cannot decrypt modern (ECDHE) traffic; use a key log (--keylog)");
    }
    if lower.starts_with("---")
        || lower.starts_with("interactions:")
        || lower.starts_with("http_interactions:")
    {
        return Some("a YAML document (an HTTP recording such as a VCR cassette?), not a trace aadtrace reads: record a HAR instead");
    }
    None
}

/// NSS key log lines (`CLIENT_RANDOM <hex> <hex>`, the TLS 1.3 secrets), after
/// any `#` comment lines.
fn is_key_log(text: &[u8]) -> bool {
    const LABELS: &[&[u8]] = &[
        b"CLIENT_RANDOM ",
        b"CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET ",
        b"CLIENT_TRAFFIC_SECRET_0 ",
        b"SERVER_TRAFFIC_SECRET_0 ",
        b"EXPORTER_SECRET ",
        b"CLIENT_EARLY_TRAFFIC_SECRET ",
        b"RSA ",
    ];
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty() && !l.starts_with(b"#"))
        .is_some_and(|l| LABELS.iter().any(|p| l.starts_with(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_mix_ups_are_named() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"# SSL/TLS secrets log file\nCLIENT_RANDOM 00 11\n",
                "TLS key log",
            ),
            (b"SERVER_HANDSHAKE_TRAFFIC_SECRET aa bb\r\n", "TLS key log"),
            (b"\x89PNG\r\n\x1a\n\0\0", "PNG image"),
            (b"%PDF-1.7\n", "PDF document"),
            (b"\n  <!DOCTYPE html><html>", "HTML page"),
            (b"---\nversion: 1\ninteractions:\n", "YAML"),
            (b"-----BEGIN PRIVATE KEY-----", "PEM"),
        ];
        for (head, want) in cases {
            let got = describe(head).unwrap_or_default();
            assert!(got.contains(want), "{head:?}: {got}");
        }
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(describe(&tar).unwrap().contains("aadtrace batch"));
        assert_eq!(describe(b"hello world"), None);
        assert_eq!(describe(b""), None);
    }
}
