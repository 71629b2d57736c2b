//! Large inputs for benchmarks, each the sample scenarios repeated and shifted in time:
//!
//! * `write_bench`: a HAR with the noise a long browsing session adds (big script
//!   bundles, images, telemetry); most of its bytes are CDN bodies.
//! * `write_dense`: a HAR of the sign-ins alone (MFA polls, token calls, sign-in
//!   pages; a few KB per entry), the identity-dense shape of issue #15.
//! * `write_form_capture`: a cleartext pcapng of the sign-ins plus large form posts
//!   (megabytes each) to an application and to the sign-in service (issue #15).
//!
//! The HARs are streamed to disk: one repetition is in memory at a time.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::json;

use crate::assets;
use crate::browser::{Browser, Kind, Req, Resp};
use crate::har_writer::{pages_for, HarWriter, Page};
use crate::model::Scenario;
use crate::scenarios::{self, Variant};
use crate::util::Rng;

/// Counts bytes written (first pass: size the file without writing it).
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Repetition `rep`: one scenario, re-seeded and shifted, plus noise exchanges
/// scattered over its time span.
fn repetition(rep: u64) -> Scenario {
    let mut s = sign_in(rep);
    let first = s.exchanges.first().map_or(0, |e| e.started_us);
    let last = s.exchanges.last().map_or(0, |e| e.started_us);
    let span = (last - first).max(1_000_000);
    s.exchanges.extend(noise(rep, first, span));
    s.sort();
    s
}

/// Repetition `rep` of the sample sign-ins alone: one scenario, re-seeded and shifted.
fn sign_in(rep: u64) -> Scenario {
    let all = scenarios::all();
    let (build, base) = all[(rep % all.len() as u64) as usize];
    // One repetition every 3 minutes (the longest scenario lasts under 2), so the
    // file stays ordered by start time like a real export.
    let v = Variant {
        seed: base.seed * 1000 + rep,
        start_us: all[0].1.start_us + rep as i64 * 3 * 60 * 1_000_000,
    };
    build(v)
}

/// The noise of repetition `rep`, scattered over `span` µs from `first`.
fn noise(rep: u64, first: i64, span: i64) -> Vec<crate::model::SampleExchange> {
    let mut rng = Rng::new(rep ^ 0xB3AC_4C0F);
    let mut b = Browser::new(rep ^ 0x51A7, first);
    b.page = Some(format!("{}/", crate::ests::APP_ORIGIN));
    let bundles = rng.range(2, 3);
    for i in 0..bundles {
        b.now = first + (rng.below(span as u64) as i64);
        let size = rng.range(50 * 1024, 300 * 1024) as usize;
        let body = assets::js_bundle(&mut rng, size);
        let url = format!(
            "https://aadcdn.msftauth.net/shared/1.0/content/js/bundle_{}_{}.js",
            i,
            rng.token("", 22)
        );
        let resp = Resp::new(200)
            .headers(assets::cdn_headers(&mut rng, "application/javascript"))
            .body("application/javascript", body);
        b.fire(Req::sub(Kind::Script, url), rng.ms(15.0, 60.0), resp, 0.0);
    }
    for _ in 0..rng.range(1, 2) {
        b.now = first + (rng.below(span as u64) as i64);
        let size = rng.range(20 * 1024, 90 * 1024) as usize;
        let body = assets::noise_png(&mut rng, size);
        let url = format!(
            "https://aadcdn.msauthimages.net/dbd5a2dd-{}/logintenantbranding/0/illustration?ts={}",
            rng.hex(12),
            rng.range(637_000_000_000_000_000, 638_999_999_999_999_999)
        );
        let resp = Resp::new(200)
            .headers(assets::cdn_headers(&mut rng, "image/png"))
            .body("image/png", body);
        b.fire(Req::sub(Kind::Image, url), rng.ms(20.0, 70.0), resp, 0.0);
    }
    for _ in 0..rng.range(3, 5) {
        b.now = first + (rng.below(span as u64) as i64);
        let events: Vec<String> = (0..rng.range(2, 6))
            .map(|_| {
                json!({
                    "name": "Ms.Webi.PageView",
                    "time": crate::util::iso_ms(b.now),
                    "ver": "4.0",
                    "iKey": format!("o:{}", rng.hex(32)),
                    "data": {"baseData": {"uri": "https://login.microsoftonline.com/", "properties": {"refUri": "https://app.contoso.example/", "note": "quote \" backslash \\ tab \t"}}}
                })
                .to_string()
            })
            .collect();
        let url = format!(
            "https://browser.events.data.microsoft.com/OneCollector/1.0/?cors=true&content-type=application/x-json-stream&client-id=NO_AUTH&client-version=1DS-Web-JS-3.2.{}&apikey={}&upload-time={}&w=0&anoncknm=app_anon&NoResponseBody=true",
            rng.range(1, 18),
            rng.hex(32),
            crate::util::unix_ms(b.now)
        );
        let req = Req::fetch("POST", url)
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body("text/plain", events.join("\n"));
        let resp = Resp::new(204)
            .header("Access-Control-Allow-Origin", "https://app.contoso.example")
            .header("Access-Control-Allow-Credentials", "true")
            .header("time-delta-millis", rng.range(3, 40).to_string());
        b.fire(req, rng.ms(30.0, 90.0), resp, 0.0);
    }
    b.exchanges
}

/// Writes a HAR of at least `mb` MiB to `out`. Returns (entries, bytes).
pub fn write_bench(mb: u64, out: &Path) -> io::Result<(usize, u64)> {
    write_har(mb, out, repetition)
}

/// Writes a HAR of at least `mb` MiB of sign-ins without noise to `out`.
/// Returns (entries, bytes).
pub fn write_dense(mb: u64, out: &Path) -> io::Result<(usize, u64)> {
    write_har(mb, out, sign_in)
}

fn write_har(mb: u64, out: &Path, repetition: fn(u64) -> Scenario) -> io::Result<(usize, u64)> {
    let target = mb * 1024 * 1024;
    // Pass 1: size repetitions and collect their pages.
    let mut pages: Vec<Page> = Vec::new();
    let mut counter = 0usize;
    let mut sizing = HarWriter::start(Counter(0), ("WebInspector", "537.36"), false, &[])?;
    let mut reps = 0u64;
    loop {
        let s = repetition(reps);
        let (p, refs) = pages_for(&s, &mut counter);
        pages.extend(p);
        for (e, r) in s.exchanges.iter().zip(&refs) {
            sizing.entry(e, r.as_deref())?;
        }
        reps += 1;
        let written = sizing_bytes(&sizing);
        if written >= target {
            break;
        }
    }
    drop(sizing);

    // Pass 2: write for real.
    let file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut w = HarWriter::start(file, ("WebInspector", "537.36"), false, &pages)?;
    let mut counter = 0usize;
    let mut entries = 0usize;
    for rep in 0..reps {
        let s = repetition(rep);
        let (_, refs) = pages_for(&s, &mut counter);
        for (e, r) in s.exchanges.iter().zip(&refs) {
            w.entry(e, r.as_deref())?;
            entries += 1;
        }
    }
    w.finish()?;
    let bytes = std::fs::metadata(out)?.len();
    Ok((entries, bytes))
}

fn sizing_bytes(w: &HarWriter<Counter>) -> u64 {
    w.inner().0
}

/// Writes a cleartext pcapng of at least `mb` MiB to `out`: the sample sign-ins that
/// can be framed as IPv4 HTTP/1.1, each repetition with two large form posts, one
/// to an application (`upload.contoso.example`) and one to the sign-in service, of
/// 1–4 MiB each. Returns (exchanges, bytes).
pub fn write_form_capture(mb: u64, out: &Path) -> io::Result<(usize, u64)> {
    let target = mb * 1024 * 1024;
    let file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut w = crate::packet_writer::PcapngWriter::new(file, "aadtrace bench")?;
    let (mut written, mut exchanges, mut conns, mut rep) = (0u64, 0usize, 0u32, 0u64);
    while written < target {
        let mut s = sign_in(rep);
        rep += 1;
        let first = s.exchanges.first().map_or(0, |e| e.started_us);
        s.exchanges.extend(form_posts(rep, first));
        s.sort();
        let Ok((frames, used)) = crate::capture_writer::packets_from(&s, conns) else {
            continue; // a scenario with IPv6 servers: not framed
        };
        conns += used;
        exchanges += s.exchanges.len();
        for f in &frames {
            w.packet(f.ts_us, &f.data)?;
            written += f.data.len() as u64 + 32;
        }
    }
    w.finish()?.flush()?;
    Ok((exchanges, std::fs::metadata(out)?.len()))
}

/// Two large form posts: an application's (a document upload with many fields) and
/// the sign-in service's (a long telemetry field, then the usual sign-in fields).
fn form_posts(rep: u64, first: i64) -> Vec<crate::model::SampleExchange> {
    let mut rng = Rng::new(rep ^ 0xF0A1_5EED);
    let mut b = Browser::new(rep ^ 0x7E57, first + 2_000_000);
    b.page = Some(format!("{}/", crate::ests::APP_ORIGIN));
    let mut form = String::new();
    let size = rng.range(1 << 20, 4 << 20) as usize;
    let mut field = 0;
    while form.len() < size {
        let len = rng.range(20, 4000) as usize;
        let value = rng.token("", len);
        form.push_str(&format!("field{field}={value}%2B%3D+x&"));
        field += 1;
    }
    form.push_str("state=done&submit=Save");
    let req = Req::form_post("https://upload.contoso.example/documents/save", form, true);
    b.send(req, rng.ms(80.0, 200.0), Resp::new(204));

    let size = rng.range(1 << 20, 4 << 20) as usize;
    let telemetry = rng.token("", size);
    let form = format!(
        "i13=0&login=adele%40contoso.example&loginfmt=adele%40contoso.example&type=11&LoginOptions=3&i19={telemetry}&ctx={}&hpgrequestid={}&flowToken={}",
        rng.token("", 400),
        rng.hex(32),
        rng.token("", 600)
    );
    let req = Req::form_post("https://login.microsoftonline.com/common/login", form, true);
    b.send(
        req,
        rng.ms(80.0, 200.0),
        Resp::new(200).html("<html><body>ok</body></html>".into()),
    );
    b.exchanges
}
