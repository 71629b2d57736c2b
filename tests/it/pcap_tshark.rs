//! Conformance against tshark: for every corpus capture, the HTTP/1.x exchanges
//! (method, host, path, status) and the TLS (server name, version) per connection
//! that aadtrace extracts equal what `tshark` extracts.
//!
//! Needs `tshark` and `../shared/corpus`. Without them the test prints why and passes,
//! except under `CI=true`, where a missing tshark fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aadtrace::capture::{read_source, NoProgress, Source};

/// Captures where aadtrace deliberately differs from tshark, with the reason.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "pcap/zeek/tcp/http-on-irc-port-missing-syn.pcapng",
        "HTTP on port 6667: tshark dissects HTTP only on its registered ports; aadtrace recognises HTTP by content on any port",
    ),
    (
        "pcap/zeek/http/basic-auth-with-colon.pcap",
        "HTTP on port 8000: not one of tshark's default HTTP ports; aadtrace recognises it by content",
    ),
    (
        "pcap/suricata-verify/http2-range/http2-range.pcap",
        "h2c upgrade: tshark counts the HTTP/2 streams after the 101 as HTTP; aadtrace stops at the upgrade (HTTP/2 is another issue)",
    ),
    (
        "pcap/suricata-verify/http2-continuation/input.pcap",
        "HTTP/2 with prior knowledge (cleartext preface): aadtrace decodes it (RFC 9113 §3.3); this test's tshark filter is `http`, which is HTTP/1 only",
    ),
    (
        "pcap/zeek/websocket/wstunnel-http.pcap",
        "HTTP tunnelled inside WebSocket frames after a 101: tshark dissects the inner HTTP, aadtrace treats the upgraded connection as a tunnel",
    ),
    (
        "pcap/suricata-verify/smb2-ntlmssp-negotiateflags/input.pcap",
        "SSDP M-SEARCH requests over UDP: aadtrace reads HTTP over TCP only",
    ),
    (
        "pcap/zeek/quic/curl-8.1.2-dev-http3-www-google-de.pcap",
        "TLS inside QUIC (UDP): aadtrace reads TLS over TCP only",
    ),
    (
        "pcap/zeek/erspan.pcap",
        "161,781 bytes are missing from the capture: after a hole tshark and aadtrace pair responses differently (aadtrace keeps a status line it saw and marks the exchange as having missing bytes, tshark drops it; on one connection aadtrace loses two responses after a hole that tshark recovers)",
    ),
    (
        "netmon/prot-od-netcaps/MS-WMOD_Example2_WS2016_X64_Win10_X64_Domain_Hagala.cap",
        "request bodies are missing from the capture ('previous segment not captured'): tshark never completes those POSTs and shows none of them; aadtrace keeps each request head with its response and marks the exchange as having missing bytes",
    ),
    (
        "netmon/prot-od-netcaps/MS-RMSOD_Example2_Win2016_X64_Win10_X64_Domain_v-yvrich.cap",
        "tshark leaves 5 POSTs as 'TCP segment of a reassembled PDU' on a connection with out-of-order segments; aadtrace reassembles them without a gap and pairs them with their responses",
    ),
];

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    p.is_dir().then_some(p)
}

fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn prerequisites() -> Option<PathBuf> {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !have_tshark() {
        if ci {
            panic!("tshark is required under CI=true (apt-get install tshark)");
        }
        eprintln!("skipped: tshark is not installed");
        return None;
    }
    match corpus() {
        Some(c) => Some(c),
        None => {
            if ci {
                panic!("../shared/corpus is required under CI=true");
            }
            eprintln!("skipped: ../shared/corpus is missing");
            None
        }
    }
}

fn captures(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("pcap"), root.join("netmon")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn tshark_fields(file: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-r")
        .arg(file)
        .arg("-Y")
        .arg(filter)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=\u{1f}",
        ]);
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("run tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn split(v: &str) -> Vec<String> {
    if v.is_empty() {
        Vec::new()
    } else {
        v.split('\u{1f}').map(str::to_string).collect()
    }
}

type Row = (String, String, String, Option<u16>);

/// Path without scheme and authority, as both tools are compared on it.
fn path_of(target: &str) -> String {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            return match rest.find('/') {
                Some(i) => rest[i..].to_string(),
                None => "/".to_string(),
            };
        }
    }
    target.to_string()
}

fn tshark_http(file: &Path) -> Vec<Row> {
    let rows = tshark_fields(
        file,
        "http.request || http.response",
        &[
            "frame.number",
            "http.request.method",
            "http.host",
            "http.request.uri",
            "http.response.code",
            "http.request_in",
        ],
    );
    // Requests by frame, in order; responses point at their request's frame.
    let mut requests: BTreeMap<u64, Vec<(String, String, String)>> = BTreeMap::new();
    let mut statuses: BTreeMap<u64, Vec<u16>> = BTreeMap::new();
    for r in rows {
        let get = |i: usize| r.get(i).cloned().unwrap_or_default();
        let frame: u64 = get(0).parse().unwrap_or(0);
        let methods = split(&get(1));
        let hosts = split(&get(2));
        let uris = split(&get(3));
        for (k, m) in methods.iter().enumerate() {
            let host = if methods.len() == hosts.len() {
                hosts[k].clone()
            } else {
                hosts.first().cloned().unwrap_or_default()
            };
            let uri = uris.get(k).cloned().unwrap_or_default();
            requests
                .entry(frame)
                .or_default()
                .push((m.clone(), host, path_of(&uri)));
        }
        let codes = split(&get(4));
        let req_in = split(&get(5));
        for (k, c) in codes.iter().enumerate() {
            if let (Ok(code), Some(Ok(rf))) =
                (c.parse::<u16>(), req_in.get(k).map(|x| x.parse::<u64>()))
            {
                statuses.entry(rf).or_default().push(code);
            }
        }
    }
    let mut out = Vec::new();
    for (frame, reqs) in requests {
        let st = statuses.get(&frame).cloned().unwrap_or_default();
        for (k, (m, h, p)) in reqs.into_iter().enumerate() {
            out.push((m, h, p, st.get(k).copied()));
        }
    }
    out.sort();
    out
}

struct Ours {
    http: Vec<Row>,
    tls: Vec<(String, String)>,
}

fn aadtrace(file: &Path) -> Option<Ours> {
    let mut http = Vec::new();
    let res = read_source(
        &Source::File(file.to_path_buf()),
        0,
        &NoProgress,
        &mut |ex| {
            // Exchanges read from ETW events (NetMon WinINet-Capture) were never
            // packets: tshark has nothing to compare them with.
            if ex.connection.is_none() {
                return;
            }
            let host = ex.request.headers.get("host").unwrap_or("").to_string();
            http.push((
                ex.request.method.to_string(),
                host,
                path_of(&ex.request.url),
                ex.status(),
            ));
        },
    );
    let (_, summary) = res.ok()?;
    http.sort();
    let mut tls: Vec<(String, String)> = summary
        .connections
        .iter()
        .filter(|c| c.sni.is_some() || c.tls_version.is_some())
        .map(|c| {
            (
                c.sni.clone().unwrap_or_default(),
                c.tls_version.clone().unwrap_or_default(),
            )
        })
        .collect();
    tls.sort();
    Some(Ours { http, tls })
}

fn version_name(hex: &str) -> String {
    let v = u16::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap_or(0);
    aadtrace::tls::version_name(v)
}

fn tshark_tls(file: &Path) -> Vec<(String, String)> {
    let rows = tshark_fields(
        file,
        "tls.handshake.type == 1 || tls.handshake.type == 2",
        &[
            "tcp.stream",
            "tls.handshake.type",
            "tls.handshake.extensions_server_name",
            "tls.handshake.extensions.supported_version",
            "tls.handshake.version",
        ],
    );
    let mut per: BTreeMap<String, (String, String)> = BTreeMap::new();
    for r in rows {
        let get = |i: usize| r.get(i).cloned().unwrap_or_default();
        let stream = get(0);
        let types = split(&get(1));
        let e = per.entry(stream).or_default();
        if types.iter().any(|t| t == "1") && e.0.is_empty() {
            e.0 = split(&get(2)).first().cloned().unwrap_or_default();
        }
        if types.iter().any(|t| t == "2") && e.1.is_empty() {
            // In a ServerHello frame the supported_version is the chosen one.
            let sv = split(&get(3));
            let hv = split(&get(4));
            let pos = types.iter().position(|t| t == "2").unwrap_or(0);
            e.1 = match sv.first() {
                Some(v) => version_name(v),
                None => hv
                    .get(pos)
                    .or(hv.first())
                    .map(|v| version_name(v))
                    .unwrap_or_default(),
            };
        }
    }
    let mut v: Vec<_> = per
        .into_values()
        .filter(|(s, v)| !s.is_empty() || !v.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn http_and_tls_match_tshark() {
    let Some(root) = prerequisites() else { return };
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in captures(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !(rel.contains(".pcap") || rel.ends_with(".cap")) {
            continue;
        }
        let Some(ours) = aadtrace(&file) else {
            eprintln!("{rel}: aadtrace could not read it");
            continue;
        };
        let theirs = tshark_http(&file);
        let tls_theirs = tshark_tls(&file);
        let allowed = DIFFERENCES.iter().find(|(f, _)| *f == rel);
        let http_ok = ours.http == theirs;
        let tls_ok = ours.tls == tls_theirs;
        if !theirs.is_empty() || !ours.http.is_empty() || !tls_theirs.is_empty() {
            compared += 1;
            eprintln!(
                "{rel}: http {}/{} {}, tls {}/{} {}",
                ours.http.len(),
                theirs.len(),
                if http_ok { "same" } else { "DIFFERENT" },
                ours.tls.len(),
                tls_theirs.len(),
                if tls_ok { "same" } else { "DIFFERENT" }
            );
        }
        if http_ok && tls_ok {
            continue;
        }
        if let Some((_, why)) = allowed {
            eprintln!("  deliberate difference: {why}");
            continue;
        }
        let mut msg = format!("{rel}:\n");
        if !http_ok {
            for r in theirs.iter().filter(|r| !ours.http.contains(r)) {
                msg += &format!("  only tshark: {r:?}\n");
            }
            for r in ours.http.iter().filter(|r| !theirs.contains(r)) {
                msg += &format!("  only aadtrace: {r:?}\n");
            }
        }
        if !tls_ok {
            msg += &format!(
                "  tls tshark {tls_theirs:?}\n  tls aadtrace {:?}\n",
                ours.tls
            );
        }
        failures.push(msg);
    }
    eprintln!("{compared} captures compared");
    assert!(
        failures.is_empty(),
        "differences from tshark:\n{}",
        failures.join("")
    );
}
