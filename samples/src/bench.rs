//! One large HAR for benchmarks: the scenarios repeated, shifted in time, with the
//! noise a long browsing session adds (big script bundles, images, telemetry).
//! Streamed to disk: one repetition is in memory at a time.

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
    let all = scenarios::all();
    let (build, base) = all[(rep % all.len() as u64) as usize];
    // One repetition every 3 minutes (the longest scenario lasts under 2), so the
    // file stays ordered by start time like a real export.
    let v = Variant {
        seed: base.seed * 1000 + rep,
        start_us: all[0].1.start_us + rep as i64 * 3 * 60 * 1_000_000,
    };
    let mut s = build(v);
    let first = s.exchanges.first().map_or(v.start_us, |e| e.started_us);
    let last = s.exchanges.last().map_or(v.start_us, |e| e.started_us);
    let span = (last - first).max(1_000_000);

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
    s.exchanges.extend(b.exchanges);
    s.sort();
    s
}

/// Writes a HAR of at least `mb` MiB to `out`. Returns (entries, bytes).
pub fn write_bench(mb: u64, out: &Path) -> io::Result<(usize, u64)> {
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
