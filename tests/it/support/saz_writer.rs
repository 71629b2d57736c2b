//! Writes exchanges as a Fiddler Classic session archive the way Fiddler does (see
//! `src/capture/saz.rs` for the format notes): a CONNECT tunnel before the first
//! request to each HTTPS host, zero-padded `raw/NN_c.txt` / `_s.txt` / `_m.xml`,
//! and response bodies stored as they crossed the wire: some gzip-encoded, some
//! still chunked, the rest plain.

use std::io::Write;

use aadtrace::http::{split_url, Exchange};
use zip::write::SimpleFileOptions;

use super::{body_bytes, h1_request_headers, plain_response_headers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    ZipCrypto,
    Aes256,
}

#[derive(Debug, Clone, Default)]
pub struct SazOptions {
    pub password: Option<(String, Encryption)>,
    /// Leave out `_m.xml` (minimal archives from other tools).
    pub without_meta: bool,
}

pub fn write_saz(exchanges: &[Exchange<'_>], options: &SazOptions) -> Vec<u8> {
    // Sessions: (request bytes, response bytes, metadata xml).
    let mut sessions: Vec<(Vec<u8>, Vec<u8>, String)> = Vec::new();
    let mut tunnels: Vec<String> = Vec::new();
    for (i, ex) in exchanges.iter().enumerate() {
        let url = split_url(&ex.request.url);
        let port = if url.scheme == "http" { 80 } else { 443 };
        let authority = format!("{}:{port}", url.host);
        if url.scheme == "https" && !tunnels.contains(&authority) {
            tunnels.push(authority.clone());
            let c = format!(
                "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nConnection: keep-alive\r\n\r\n"
            );
            let s = "HTTP/1.1 200 Connection Established\r\nFiddlerGateway: Direct\r\nConnection: close\r\n\r\nEncrypted HTTPS traffic flows through this CONNECT tunnel.\r\n";
            let m = meta(ex.timing.started_us - 1_000, 0.5, 0x2100, None, ex);
            sessions.push((c.into_bytes(), s.as_bytes().to_vec(), m));
        }
        sessions.push(session(i, ex));
    }

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.set_comment(
        "Fiddler (v5.0.20253.3311) Session Archive. See https://api.getfiddler.com/r/?fiddler",
    )
    .unwrap();
    let width = sessions.len().to_string().len();
    let base = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory("raw/", base).unwrap();
    for (n, (c, s, m)) in sessions.iter().enumerate() {
        let n = n + 1;
        let mut files: Vec<(String, &[u8])> = vec![
            (format!("raw/{n:0width$}_c.txt"), c),
            (format!("raw/{n:0width$}_m.xml"), m.as_bytes()),
            (format!("raw/{n:0width$}_s.txt"), s),
        ];
        if options.without_meta {
            files.remove(1);
        }
        for (name, data) in files {
            match &options.password {
                None => zip.start_file(name, base).unwrap(),
                Some((pw, Encryption::Aes256)) => zip
                    .start_file(
                        name,
                        base.with_aes_encryption(zip::AesMode::Aes256, pw.as_str()),
                    )
                    .unwrap(),
                Some((pw, Encryption::ZipCrypto)) => {
                    use zip::unstable::write::FileOptionsExt;
                    let o = base.with_deprecated_encryption(pw.as_bytes()).unwrap();
                    zip.start_file(name, o).unwrap()
                }
            }
            zip.write_all(data).unwrap();
        }
    }
    zip.start_file("_index.htm", base).unwrap();
    zip.write_all(b"<html><body>Fiddler sessions</body></html>")
        .unwrap();
    zip.finish().unwrap().into_inner()
}

fn session(i: usize, ex: &Exchange<'_>) -> (Vec<u8>, Vec<u8>, String) {
    let mut c = format!("{} {} HTTP/1.1\r\n", ex.request.method, ex.request.url).into_bytes();
    let body = body_bytes(&ex.request.body);
    for (n, v) in h1_request_headers(ex) {
        if n.eq_ignore_ascii_case("content-length") {
            continue;
        }
        c.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    if !body.is_empty() {
        c.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    c.extend_from_slice(b"\r\n");
    c.extend_from_slice(&body);

    let mut flags = 0x1u64; // IsHTTPS
    let s = match &ex.response {
        Some(r) if r.status != 0 => {
            let reason = if r.reason.is_empty() {
                reason_phrase(r.status)
            } else {
                r.reason.to_string()
            };
            let mut s = format!("HTTP/1.1 {} {reason}\r\n", r.status).into_bytes();
            for (n, v) in plain_response_headers(r) {
                s.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            let body = body_bytes(&r.body);
            match i % 3 {
                // Stored still gzip-encoded.
                0 if !body.is_empty() => {
                    let mut gz =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    gz.write_all(&body).unwrap();
                    let gz = gz.finish().unwrap();
                    s.extend_from_slice(
                        format!(
                            "Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                            gz.len()
                        )
                        .as_bytes(),
                    );
                    s.extend_from_slice(&gz);
                }
                // Stored still chunked.
                1 if !body.is_empty() => {
                    s.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    for chunk in body.chunks(700) {
                        s.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                        s.extend_from_slice(chunk);
                        s.extend_from_slice(b"\r\n");
                    }
                    s.extend_from_slice(b"0\r\n\r\n");
                }
                _ => {
                    s.extend_from_slice(
                        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    s.extend_from_slice(&body);
                }
            }
            s
        }
        _ => {
            // Fiddler answers a failed request itself.
            flags |= 0x100;
            let host = split_url(&ex.request.url).host.to_string();
            let text = format!(
                "[Fiddler] The connection to '{host}' failed. <br />Error: ConnectionReset ({})",
                ex.error.as_deref().unwrap_or("no response")
            );
            format!(
                "HTTP/1.1 502 Fiddler - Connection Failed\r\nContent-Type: text/html; charset=UTF-8\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            )
            .into_bytes()
        }
    };
    let m = meta(
        ex.timing.started_us,
        ex.timing.duration_ms.unwrap_or(0.0),
        flags,
        ex.timing.wait_ms,
        ex,
    );
    (c, s, m)
}

fn reason_phrase(status: u16) -> String {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        500 => "Internal Server Error",
        _ => "Status",
    }
    .to_string()
}

/// `raw/N_m.xml` with .NET round-trip times in UTC−07:00, 7 fraction digits.
fn meta(
    started_us: i64,
    duration_ms: f64,
    flags: u64,
    wait_ms: Option<f64>,
    ex: &Exchange<'_>,
) -> String {
    let begin = started_us;
    let done = started_us + (duration_ms * 1000.0).round() as i64;
    let got = begin + 300;
    let first_byte = got + wait_ms.map(|w| (w * 1000.0).round() as i64).unwrap_or(0);
    let host_ip = ex.server_ip.as_deref().unwrap_or("20.190.151.7");
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Session SID=\"1\" BitFlags=\"{flags:x}\">\r\n  <SessionTimers ClientConnected=\"{}\" ClientBeginRequest=\"{}\" GotRequestHeaders=\"{}\" ClientDoneRequest=\"{}\" GatewayTime=\"0\" DNSTime=\"0\" TCPConnectTime=\"0\" HTTPSHandshakeTime=\"0\" ServerConnected=\"{}\" FiddlerBeginRequest=\"{}\" ServerGotRequest=\"{}\" ServerBeginResponse=\"{}\" GotResponseHeaders=\"{}\" ServerDoneResponse=\"{}\" ClientBeginResponse=\"{}\" ClientDoneResponse=\"{}\" />\r\n  <PipeInfo CltReuse=\"true\" />\r\n  <SessionFlags>\r\n    <SessionFlag N=\"x-clientip\" V=\"127.0.0.1\" />\r\n    <SessionFlag N=\"x-hostip\" V=\"{host_ip}\" />\r\n    <SessionFlag N=\"x-processinfo\" V=\"msedge:12140\" />\r\n    <SessionFlag N=\"https-client-version\" V=\"Tls12\" />\r\n  </SessionFlags>\r\n</Session>",
        dotnet(begin - 5_000),
        dotnet(begin),
        dotnet(begin),
        dotnet(begin),
        dotnet(begin),
        dotnet(got),
        dotnet(got),
        dotnet(first_byte),
        dotnet(first_byte),
        dotnet(done),
        dotnet(done),
        dotnet(done),
    )
}

fn dotnet(us: i64) -> String {
    let ts = jiff::Timestamp::from_microsecond(us).unwrap();
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::offset(-7));
    let z = ts.to_zoned(tz);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}-07:00",
        z.year(),
        z.month(),
        z.day(),
        z.hour(),
        z.minute(),
        z.second(),
        z.subsec_nanosecond() / 100
    )
}
