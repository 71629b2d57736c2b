//! Hostile inputs stay bounded (issue #16): small generated files that would
//! inflate to gigabytes. Each runs the binary under an address-space limit
//! (`prlimit --as`), and must finish with exit 0, 1 or 2 and say what was cut.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use etherparse::PacketBuilder;

/// The limit every run gets: "under 1 GB of memory".
const LIMIT: u64 = 1 << 30;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_aadtrace")
}

/// Runs aadtrace with `args` under the address-space limit (stdin from `stdin`
/// when given); skips (returns `None`) where `prlimit` is missing.
fn run_limited(args: &[&str], stdin: Option<&Path>) -> Option<Output> {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit not installed: memory limit not enforced, test skipped");
        return None;
    }
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={LIMIT}")).arg(bin()).args(args);
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    Some(cmd.output().expect("prlimit runs"))
}

/// Asserts a clean exit (0, 1 or 2, not a signal) and returns stdout + stderr.
fn finished(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "exit {:?} (killed or out of memory?): {}",
        out.status,
        &text[..text.len().min(2000)]
    );
    text
}

/// A pcap (LINKTYPE_ETHERNET) of TCP conversations, written by hand.
#[derive(Default)]
struct Pcap {
    frames: Vec<Vec<u8>>,
}

impl Pcap {
    /// One connection from client port `port` to `server_port`: a SYN each way,
    /// then `client` bytes and `server` bytes (each cut into segments of up to
    /// 60,000 bytes), then FINs.
    fn conversation(&mut self, port: u16, server_port: u16, client: &[u8], server: &[u8]) {
        self.talk(port, server_port, client, server, true);
    }

    /// A conversation that never ends (no FINs): what it holds stays open until
    /// the end of the capture.
    fn open_conversation(&mut self, port: u16, server_port: u16, client: &[u8], server: &[u8]) {
        self.talk(port, server_port, client, server, false);
    }

    fn talk(&mut self, port: u16, server_port: u16, client: &[u8], server: &[u8], close: bool) {
        let c = ([10, 0, (port >> 8) as u8, port as u8], port);
        let s = ([10, 1, 0, 2], server_port);
        let mut seq = [1000u32, 5000u32];
        let frame =
            |from_client: bool, syn: bool, fin: bool, payload: &[u8], seq: &mut [u32; 2]| {
                let (src, dst, i) = if from_client { (c, s, 0) } else { (s, c, 1) };
                let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
                    .ipv4(src.0, dst.0, 64)
                    .tcp(src.1, dst.1, seq[i], 65535);
                if syn {
                    b = b.syn();
                }
                if !(syn && from_client) {
                    b = b.ack(seq[1 - i]);
                }
                if fin {
                    b = b.fin();
                }
                let mut v = Vec::new();
                b.write(&mut v, payload).unwrap();
                seq[i] = seq[i].wrapping_add(payload.len() as u32 + u32::from(syn || fin));
                v
            };
        self.frames.push(frame(true, true, false, b"", &mut seq));
        self.frames.push(frame(false, true, false, b"", &mut seq));
        for chunk in client.chunks(60_000) {
            self.frames.push(frame(true, false, false, chunk, &mut seq));
        }
        for chunk in server.chunks(60_000) {
            self.frames
                .push(frame(false, false, false, chunk, &mut seq));
        }
        if close {
            self.frames.push(frame(true, false, true, b"", &mut seq));
            self.frames.push(frame(false, false, true, b"", &mut seq));
        }
    }

    fn write(&self, path: &Path) {
        let mut out = Vec::new();
        out.extend(0xa1b2_c3d4u32.to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(4u16.to_le_bytes());
        out.extend([0; 8]);
        out.extend(262_144u32.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        for (i, f) in self.frames.iter().enumerate() {
            out.extend(1_700_000_000u32.to_le_bytes());
            out.extend((i as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend(f);
        }
        std::fs::write(path, out).unwrap();
    }
}

/// An HTTP/2 frame (RFC 9113 §4.1).
fn h2_frame(ty: u8, flags: u8, id: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend([ty, flags]);
    f.extend(id.to_be_bytes());
    f.extend(payload);
    f
}

/// An HPACK integer with a `prefix`-bit prefix (RFC 7541 §5.1).
fn hpack_int(flags: u8, prefix: u8, mut v: usize) -> Vec<u8> {
    let max = (1usize << prefix) - 1;
    if v < max {
        return vec![flags | v as u8];
    }
    let mut out = vec![flags | max as u8];
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
    out
}

/// A literal header field without indexing, new name (RFC 7541 §6.2.2).
fn hpack_literal(name: &str, value: &str) -> Vec<u8> {
    let mut b = vec![0];
    b.extend(hpack_int(0, 7, name.len()));
    b.extend(name.as_bytes());
    b.extend(hpack_int(0, 7, value.len()));
    b.extend(value.as_bytes());
    b
}

/// #16.1: one 200 KB table entry referenced 4,096 times per header block, on
/// many streams of a cleartext (prior-knowledge) HTTP/2 connection.
#[test]
fn hpack_amplification_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let value = "v".repeat(200_000);
    let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    client.extend(h2_frame(4, 0, 0, b""));
    let mut server = h2_frame(4, 0, 0, b"");
    for i in 0..40u32 {
        let id = 1 + 2 * i;
        let mut block = Vec::new();
        if i == 0 {
            block.extend(hpack_int(0x20, 5, 1 << 20));
            block.extend([0x40, 1, b'x']);
            block.extend(hpack_int(0, 7, value.len()));
            block.extend(value.as_bytes());
        }
        block.extend([0x82, 0x86, 0x84]);
        block.extend(hpack_literal(":authority", "login.microsoftonline.com"));
        block.extend(std::iter::repeat_n(0x80 | 62, 4096));
        client.extend(h2_frame(1, 0x5, id, &block));
        server.extend(h2_frame(1, 0x5, id, &[0x88]));
    }
    let mut pcap = Pcap::default();
    pcap.conversation(40000, 80, &client, &server);
    let path = dir.path().join("hpack.pcap");
    pcap.write(&path);
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let Some(out) = run_limited(
        &["analyze", "--format", "json", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    let text = finished(&out);
    assert!(text.contains("h2_header_list_too_large"), "{text}");
}

/// gzip of gzip of 32 MiB of zeros: a few hundred bytes.
fn double_gzip_bomb() -> Vec<u8> {
    let mut inner = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..32 {
        inner.write_all(&zeros).unwrap();
    }
    let inner = inner.finish().unwrap();
    let mut outer = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    outer.write_all(&inner).unwrap();
    outer.finish().unwrap()
}

/// #16.2: 200 pipelined responses, each a decompression bomb, complete in one
/// frame: the bodies decoded at once stay within the trace's budget.
#[test]
fn decoded_bodies_in_flight_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = double_gzip_bomb();
    let mut client = Vec::new();
    let mut server = Vec::new();
    for i in 0..200 {
        client.extend(
            format!("GET /common/oauth2/authorize?i={i} HTTP/1.1\r\nHost: login.microsoftonline.com\r\n\r\n")
                .as_bytes(),
        );
        server.extend(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip, gzip\r\nContent-Length: {}\r\n\r\n",
                bomb.len()
            )
            .as_bytes(),
        );
        server.extend(&bomb);
    }
    let mut pcap = Pcap::default();
    pcap.conversation(40000, 80, &client, &server);
    let path = dir.path().join("bombs.pcap");
    pcap.write(&path);
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let Some(out) = run_limited(
        &["analyze", "--format", "json", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    let text = finished(&out);
    assert!(text.contains("memory_budget_exceeded"), "{text}");
    assert!(text.contains("decoded bodies cut short"), "{text}");
}

/// #16.3: thousands of open POSTs announcing a gigabyte each: the buffers sized
/// in advance from Content-Length are bounded in total, not per message.
#[test]
fn presized_bodies_are_bounded_in_total() {
    let dir = tempfile::tempdir().unwrap();
    let head = b"POST /common/login HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Length: 1000000000\r\n\r\n";
    let mut pcap = Pcap::default();
    for i in 0..3000u16 {
        pcap.open_conversation(20000 + i, 80, head, b"");
    }
    let path = dir.path().join("heads.pcap");
    pcap.write(&path);
    let Some(out) = run_limited(
        &["analyze", "--format", "json", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    finished(&out);
}

/// Runs `cmd` to its end, or kills it after `secs` seconds (a hang) and fails.
fn within(mut cmd: Command, secs: u64) -> Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {secs} s: {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn sample(name: &str) -> String {
    format!("{}/captures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// #16.6: `--keylog /dev/zero` stops at the cap with an error that says why.
#[test]
fn endless_keylog_stops_at_the_cap() {
    let pcap = sample("mfa-timeout-then-success-tls13-h2.pcapng");
    let Some(out) = run_limited(&["analyze", "--keylog", "/dev/zero", &pcap], None) else {
        return;
    };
    let text = finished(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(text.contains("the key log is larger than 64 MiB"), "{text}");
}

/// #16.6: `batch --manifest - < /dev/zero` stops at the cap.
#[test]
fn endless_manifest_stops_at_the_cap() {
    let Some(out) = run_limited(&["batch", "--manifest", "-"], Some(Path::new("/dev/zero"))) else {
        return;
    };
    let text = finished(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text.contains("the manifest is larger than 64 MiB"),
        "{text}"
    );
}

/// #16.6: a FIFO nobody writes to, as a trace, a key log or a manifest, does
/// not hang the run.
#[cfg(unix)]
#[test]
fn fifo_without_a_writer_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trace.har");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable: test skipped");
        return;
    }
    let fifo = fifo.to_str().unwrap();
    let mut analyze = Command::new(bin());
    analyze.args(["analyze", fifo]);
    let out = within(analyze, 10);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    let mut keylog = Command::new(bin());
    keylog.args(["analyze", "--keylog", fifo, &sample("clean-signin.har")]);
    assert_eq!(within(keylog, 10).status.code(), Some(0));

    let mut manifest = Command::new(bin());
    manifest.args(["batch", "-q", "--manifest", fifo]);
    assert_eq!(within(manifest, 10).status.code(), Some(2));

    // A manifest naming the FIFO: that trace gets an error result, the rest run.
    let list = dir.path().join("list.txt");
    std::fs::write(&list, format!("{fifo}\n{}\n", sample("clean-signin.har"))).unwrap();
    let mut batch = Command::new(bin());
    batch.args(["batch", "-q", "--manifest"]).arg(&list);
    let out = within(batch, 10);
    assert_eq!(out.status.code(), Some(0));
    let lines = String::from_utf8_lossy(&out.stdout);
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(
        lines.lines().next().unwrap().contains("\"error\""),
        "{lines}"
    );
}

/// #16.6: `analyze <(cat x.har)`: a pipe is read as a stream, not as an empty file.
#[cfg(unix)]
#[test]
fn process_substitution_is_read_as_a_stream() {
    let script = format!(
        "exec '{}' analyze --format json <(cat '{}')",
        bin(),
        sample("clean-signin.har")
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script]);
    let out = within(cmd, 20);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"exchanges\": 15"), "{stdout}");
}

/// #16.11: a key log saved as UTF-16 (with its byte-order mark) or as UTF-8
/// with a byte-order mark decrypts as much as the plain one.
#[test]
fn keylog_with_bom_or_utf16_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = sample("mfa-timeout-then-success-tls13-h2.pcapng");
    let original =
        std::fs::read_to_string(sample("mfa-timeout-then-success-tls13-h2.keylog")).unwrap();
    // Traffic secrets first: a first line lost to the mark would cost exchanges.
    let mut lines: Vec<&str> = original.lines().collect();
    lines.sort_by_key(|l| !l.starts_with("CLIENT_TRAFFIC_SECRET_0"));
    let plain = lines.join("\n") + "\n";
    let exchanges = |keylog: &Path| {
        let out = Command::new(bin())
            .args(["analyze", "--format", "json", "--keylog"])
            .arg(keylog)
            .arg(&pcap)
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["inputs"][0]["exchanges"].as_u64().unwrap()
    };
    let bom = dir.path().join("bom.keylog");
    std::fs::write(
        &bom,
        [b"\xef\xbb\xbf".as_slice(), plain.as_bytes()].concat(),
    )
    .unwrap();
    let utf16 = dir.path().join("utf16.keylog");
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(plain.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&utf16, bytes).unwrap();
    let want = exchanges(Path::new(&sample(
        "mfa-timeout-then-success-tls13-h2.keylog",
    )));
    assert!(want > 0);
    assert_eq!(exchanges(&bom), want);
    assert_eq!(exchanges(&utf16), want);
}

/// #16.11: `-o` never overwrites an input: same name, symbolic link, hard link.
#[test]
fn output_never_overwrites_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.har");
    std::fs::copy(sample("clean-signin.har"), &trace).unwrap();
    let before = std::fs::read(&trace).unwrap();
    let mut outputs = vec![trace.clone()];
    #[cfg(unix)]
    {
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&trace, &link).unwrap();
        outputs.push(link);
    }
    let hard = dir.path().join("hard.json");
    if std::fs::hard_link(&trace, &hard).is_ok() {
        outputs.push(hard);
    }
    for out in &outputs {
        let o = Command::new(bin())
            .args(["analyze", "--format", "json", "-o"])
            .arg(out)
            .arg(&trace)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", out.display());
        assert!(String::from_utf8_lossy(&o.stderr).contains("would overwrite the input"));
        let o = Command::new(bin())
            .args(["redact", "-o"])
            .arg(out)
            .arg(&trace)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", out.display());
    }
    assert_eq!(std::fs::read(&trace).unwrap(), before);
    // Another file is fine.
    let ok = Command::new(bin())
        .args(["analyze", "--format", "json", "-o"])
        .arg(dir.path().join("report.json"))
        .arg(&trace)
        .status()
        .unwrap();
    assert_eq!(ok.code(), Some(0));
}

/// #16.11: `batch --list` prints archive member names through the terminal
/// sanitiser: no escape sequence reaches the terminal.
#[test]
fn batch_list_sanitises_member_names() {
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("a.tar");
    let mut tar = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
    let data = std::fs::read(sample("clean-signin.har")).unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "evil\u{1b}[2Jname.har", &data[..])
        .unwrap();
    tar.finish().unwrap();
    drop(tar);
    let out = Command::new(bin())
        .args(["batch", "--list"])
        .arg(&tar_path)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("name.har"), "{listed}");
    assert!(!listed.contains('\u{1b}'), "{listed:?}");
}

/// A gzip'd HAR of three entries, the middle one `middle` (raw JSON).
fn har_gz(middle: impl FnOnce(&mut dyn Write)) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    write_har(&mut gz, middle);
    gz.finish().unwrap()
}

/// Writes a HAR of three entries to `w`, the middle one `middle` (raw JSON).
fn write_har(w: &mut dyn Write, middle: impl FnOnce(&mut dyn Write)) {
    let entry = |i: u32| {
        format!(
            r#"{{"startedDateTime":"2026-01-01T00:00:0{i}.000Z","time":1,"request":{{"method":"GET","url":"https://login.microsoftonline.com/common/oauth2/authorize?i={i}","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{{"size":0,"mimeType":"text/html"}},"redirectURL":"","headersSize":-1,"bodySize":0}},"cache":{{}},"timings":{{"send":0,"wait":1,"receive":0}}}}"#
        )
    };
    write!(
        w,
        r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":["#
    )
    .unwrap();
    write!(w, "{},", entry(0)).unwrap();
    middle(w);
    write!(w, ",{}]}}}}", entry(2)).unwrap();
}

/// Writes `n` bytes of `byte`.
fn repeat(w: &mut dyn Write, byte: u8, n: usize) {
    let block = vec![byte; 1 << 20];
    for _ in 0..n >> 20 {
        w.write_all(&block).unwrap();
    }
}

/// #16.4: a streamed HAR entry larger than the cap (a 100 MiB string, or 64 MiB
/// of `[` that never close) is skipped with a warning naming it; the entries
/// around it are read (after endless brackets nothing is left but the cut).
/// A stream small enough to hold (a quarter of the trace's share: 64 MiB of
/// `--max-memory 256M`) is read as a file is: its 40 MiB entry is read, and
/// judged as the file's would be (it names no method).
#[test]
fn streamed_har_entries_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let string = |mib: usize| {
        har_gz(|w| {
            w.write_all(br#"{"request":{"url":""#).unwrap();
            repeat(w, b'x', mib << 20);
            w.write_all(br#""}}"#).unwrap();
        })
    };
    let brackets = har_gz(|w| {
        w.write_all(br#"{"x":"#).unwrap();
        repeat(w, b'[', 64 << 20);
        w.write_all(b"}").unwrap();
    });
    let cases = [
        ("held.har.gz", string(40), 2, false),
        ("string.har.gz", string(100), 2, true),
        ("brackets.har.gz", brackets, 1, true),
    ];
    for (name, bytes, exchanges, capped) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        assert!(bytes.len() < 1 << 20);
        let args = [
            "analyze",
            "--max-memory",
            "256M",
            "--format",
            "json",
            path.to_str().unwrap(),
        ];
        let Some(out) = run_limited(&args, None) else {
            return;
        };
        let text = finished(&out);
        assert_eq!(
            text.contains("har_entry_too_large"),
            capped,
            "{name}: {text}"
        );
        assert_eq!(text.contains("entry 1 is"), capped, "{name}: {text}");
        assert_eq!(text.contains("request.method"), !capped, "{name}: {text}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["inputs"][0]["exchanges"], exchanges, "{name}");
    }
}

/// A tar.gz of a small HAR and a 768 MiB member of zeros, whose gzip trailer
/// claims 1000 bytes (the size hint planning trusts).
fn lying_tar_gz(path: &Path) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let har = std::fs::read(sample("clean-signin.har")).unwrap();
    let mut add = |name: &str, size: u64, data: &mut dyn std::io::Read| {
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, data).unwrap();
    };
    add("a.har", har.len() as u64, &mut &har[..]);
    let big = 768u64 << 20;
    add(
        "big.har",
        big,
        &mut std::io::Read::take(std::io::repeat(0), big),
    );
    tar.into_inner().unwrap().finish().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&1000u32.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// #16.5: a compressed tar is not inflated whole to list it, nor is a member
/// larger than the budget read whole: it gets an error result that says why.
#[test]
fn archive_members_stay_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.tar.gz");
    lying_tar_gz(&path);
    let archive = path.to_str().unwrap();
    let Some(out) = run_limited(&["batch", "--list", archive], None) else {
        return;
    };
    let text = finished(&out);
    assert!(text.contains("a.har") && text.contains("big.har"), "{text}");
    let args = ["batch", "-q", "--max-memory", "512M", "-j", "1", archive];
    let Some(out) = run_limited(&args, None) else {
        return;
    };
    let text = finished(&out);
    assert!(text.contains("more than the memory budget"), "{text}");
    assert!(
        text.contains("\"flows\""),
        "the small member is analysed: {text}"
    );
}

/// #16.7: the HTML page shows a huge URL cut, with its full length, not whole.
#[test]
fn html_cuts_a_huge_url() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("url.har");
    let long = format!(
        "https://login.microsoftonline.com/common/oauth2/authorize?client_id=1&x={}",
        "a".repeat(50 << 20)
    );
    let har = format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"t","version":"1"}},"entries":[{{"startedDateTime":"2026-01-01T00:00:00.000Z","time":1,"request":{{"method":"GET","url":"{long}","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{{"size":0,"mimeType":"text/html"}},"redirectURL":"","headersSize":-1,"bodySize":0}},"cache":{{}},"timings":{{"send":0,"wait":1,"receive":0}}}}]}}}}"#
    );
    std::fs::write(&path, har).unwrap();
    let Some(out) = run_limited(
        &["analyze", "--format", "html", path.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    finished(&out);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.len() < 1 << 20, "{} bytes", page.len());
    assert!(page.contains(&format!("({} bytes in all)", long.len())));
}

/// A zip (about 3 MB) of a small HAR and three members that must not be read
/// whole under `--max-memory 512M`: `big.har`, a HAR of 1.1 GiB (one entry a
/// huge string); `lie.har`, the same bytes under a header that declares 1000;
/// `zeros.har`, 600 MiB of zeros (no HAR, so it cannot be streamed either).
fn zip_with_huge_members(path: &Path) {
    use std::io::Seek;
    use zip::write::SimpleFileOptions;
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // The huge HAR is compressed once, then copied raw under both names.
    let mut staged = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    staged.start_file("big.har", deflated).unwrap();
    write_har(&mut staged, |w| {
        w.write_all(br#"{"request":{"url":""#).unwrap();
        repeat(w, b'a', 1100 << 20);
        w.write_all(br#""}}"#).unwrap();
    });
    let mut staged = zip::ZipArchive::new(staged.finish().unwrap()).unwrap();

    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file("a.har", deflated).unwrap();
    zip.write_all(&std::fs::read(sample("clean-signin.har")).unwrap())
        .unwrap();
    zip.raw_copy_file(staged.by_index(0).unwrap()).unwrap();
    zip.raw_copy_file_rename(staged.by_index(0).unwrap(), "lie.har")
        .unwrap();
    zip.start_file("zeros.har", deflated).unwrap();
    repeat(&mut zip, 0, 600 << 20);
    let mut file = zip.finish().unwrap();

    // `lie.har` declares 1000 bytes, in its local and its central header.
    file.rewind().unwrap();
    let mut archive = zip::ZipArchive::new(&mut file).unwrap();
    let lie = archive.by_name("lie.har").unwrap();
    let places = [lie.header_start() + 22, lie.central_header_start() + 24];
    drop(lie);
    drop(archive);
    for at in places {
        file.seek(std::io::SeekFrom::Start(at)).unwrap();
        file.write_all(&1000u32.to_le_bytes()).unwrap();
    }
}

/// #16.5: a zip member is never inflated whole past the budget, whatever its
/// header says: a HAR too large to hold is streamed (its huge entry skipped
/// with a warning), one that inflates past its header and one that is no HAR
/// get error results (the latter naming the budget);
/// `batch --list` of the zip stays bounded too.
#[test]
fn zip_members_stay_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.zip");
    zip_with_huge_members(&path);
    assert!(std::fs::metadata(&path).unwrap().len() < 8 << 20);
    let archive = path.to_str().unwrap();
    let Some(out) = run_limited(&["batch", "--list", archive], None) else {
        return;
    };
    let text = finished(&out);
    assert_eq!(text.lines().count(), 4, "{text}");
    let args = ["batch", "-q", "--max-memory", "512M", "-j", "1", archive];
    let Some(out) = run_limited(&args, None) else {
        return;
    };
    finished(&out);
    let results: BTreeMap<String, serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let member = v["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (member, v)
        })
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert!(results["a.har"]["flows"].is_array(), "{}", results["a.har"]);
    let big = &results["big.har"];
    assert_eq!(big["inputs"][0]["exchanges"], 2, "{big}");
    let line = big.to_string();
    assert!(line.contains("har_entry_too_large"), "{line}");
    assert!(line.contains("entry 1 is"), "{line}");
    // The read stops past the declared size (the zip reader refuses more).
    let lie = &results["lie.har"]["error"];
    assert_eq!(lie["kind"], "archive", "{lie}");
    assert!(
        lie["message"].as_str().unwrap().contains("declared"),
        "{lie}"
    );
    let zeros = &results["zeros.har"]["error"];
    assert_eq!(zeros["kind"], "archive", "{zeros}");
    let message = zeros["message"].as_str().unwrap();
    assert!(
        message.contains("zeros.har: this member is 600 MiB"),
        "{message}"
    );
    assert!(
        message.contains("more than the memory budget (512 MiB"),
        "{message}"
    );
}

/// #16.4 for `redact`: `.har.gz` files of a few MB whose middle entry holds a
/// 1.1 GiB string, or 40 MiB of numbers that would take over a gigabyte once
/// parsed. The copy leaves that entry out (never writing it unredacted), the
/// receipt says which entry and why, and the run stays under the memory limit
/// although the input inflates past it (twice: one pass learns the secrets, one
/// writes).
#[test]
fn redact_caps_streamed_har_entries() {
    let dir = tempfile::tempdir().unwrap();
    let head = br#"{"request":{"url":"https://login.microsoftonline.com/x","postData":{"text":""#;
    let tail = br#""}}}"#;
    let string = har_gz(|w| {
        w.write_all(head).unwrap();
        repeat(w, b'a', 1100 << 20);
        w.write_all(tail).unwrap();
    });
    let string_size = head.len() + tail.len() + (1100 << 20);
    let numbers = har_gz(|w| {
        w.write_all(br#"{"x":[0"#).unwrap();
        let block = b",0".repeat(1 << 19);
        for _ in 0..40 {
            w.write_all(&block).unwrap();
        }
        w.write_all(b"]}").unwrap();
    });
    let cases = [
        ("string", string, format!("entry 1 is {string_size} bytes")),
        ("numbers", numbers, "entry 1 would take about".to_string()),
    ];
    for (name, bytes, why) in cases {
        assert!(bytes.len() < 16 << 20);
        let input = dir.path().join(format!("{name}.har.gz"));
        std::fs::write(&input, &bytes).unwrap();
        let copy = dir.path().join(format!("{name}.copy.har"));
        let receipt = dir.path().join(format!("{name}.receipt.json"));
        let args = [
            "redact",
            input.to_str().unwrap(),
            "-o",
            copy.to_str().unwrap(),
            "--receipt",
            receipt.to_str().unwrap(),
        ];
        let Some(out) = run_limited(&args, None) else {
            return;
        };
        finished(&out);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let receipt: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&receipt).unwrap()).unwrap();
        assert_eq!(receipt["exchanges"], 2, "{name}: {receipt}");
        let warnings = receipt["warnings"].to_string();
        assert!(warnings.contains(&why), "{name}: {warnings}");
        assert!(warnings.contains("left out of the copy"), "{warnings}");
        let copy_text = std::fs::read_to_string(&copy).unwrap();
        assert!(
            copy_text.len() < 1 << 20,
            "{name}: {} bytes",
            copy_text.len()
        );
        assert!(!copy_text.contains("aaaaaaaa") && !copy_text.contains("0,0,0"));
        let doc: serde_json::Value = serde_json::from_str(&copy_text).unwrap();
        assert_eq!(doc["log"]["entries"].as_array().unwrap().len(), 2);
    }
}
