//! Generates the sample captures in `captures/` (and, on request, a large HAR for
//! benchmarks). Every scenario is synthetic and defined in `scenarios.rs`.
//!
//! ```text
//! cargo run --example make_samples                      # writes captures/*.har and the
//!                                                       # cleartext captures (pcap, pcapng, .cap)
//!                                                       # and the TLS ones (pcapng + key log)
//! cargo run --example make_samples -- --out DIR         # somewhere else
//! cargo run --release --example make_samples -- --bench-mb 200 --bench-out bench-data/big.har
//! cargo run --release --example make_samples -- --bench-mb 200 --bench-shape dense \
//!     --bench-out bench-data/dense.har                   # sign-ins only (issue #15)
//! cargo run --release --example make_samples -- --bench-mb 450 --bench-shape forms \
//!     --bench-out bench-data/forms.pcapng                # sign-ins + large form posts
//! cargo run --release --example make_samples -- --flow-shape errors --flow-steps 200000 \
//!     --flow-out bench-data/flow-errors-200k.har        # one huge flow (one_flow.rs)
//! ```

//!
//! A thin command over the `aadtrace-samples` workspace crate (`samples/`), which
//! the tests and benchmarks use too.

use aadtrace_samples::{bench, capture_writer, har_writer, one_flow, scenarios, tls_samples};

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> &'static str {
    "usage: make_samples [--out DIR] [--bench-mb N [--bench-shape noise|dense|forms] --bench-out FILE]\n       make_samples --flow-shape SHAPE --flow-steps N --flow-out FILE"
}

fn main() -> ExitCode {
    let mut out = PathBuf::from("captures");
    let mut bench_mb: Option<u64> = None;
    let mut bench_out: Option<PathBuf> = None;
    let mut bench_shape = String::from("noise");
    let mut flow_shape: Option<String> = None;
    let mut flow_steps: usize = 200_000;
    let mut flow_out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => match args.next() {
                Some(v) => out = PathBuf::from(v),
                None => return fail(usage()),
            },
            "--bench-mb" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => bench_mb = Some(v),
                None => return fail(usage()),
            },
            "--bench-shape" => match args.next() {
                Some(v) => bench_shape = v,
                None => return fail(usage()),
            },
            "--bench-out" => match args.next() {
                Some(v) => bench_out = Some(PathBuf::from(v)),
                None => return fail(usage()),
            },
            "--flow-shape" => match args.next() {
                Some(v) => flow_shape = Some(v),
                None => return fail(usage()),
            },
            "--flow-steps" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => flow_steps = v,
                None => return fail(usage()),
            },
            "--flow-out" => match args.next() {
                Some(v) => flow_out = Some(PathBuf::from(v)),
                None => return fail(usage()),
            },
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            other => return fail(&format!("unknown argument {other:?}\n{}", usage())),
        }
    }

    if let Some(shape) = flow_shape {
        let path = flow_out
            .unwrap_or_else(|| PathBuf::from(format!("bench-data/flow-{shape}-{flow_steps}.har")));
        return write_one_flow(&shape, flow_steps, &path);
    }

    if let Some(mb) = bench_mb {
        let path = bench_out.unwrap_or_else(|| PathBuf::from("bench-data/bench.har"));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Err(e) = std::fs::create_dir_all(dir) {
                return fail(&format!("{}: {e}", dir.display()));
            }
        }
        let write = match bench_shape.as_str() {
            "noise" => bench::write_bench,
            "dense" => bench::write_dense,
            "forms" => bench::write_form_capture,
            _ => return fail(usage()),
        };
        return match write(mb, &path) {
            Ok((entries, bytes)) => {
                println!(
                    "wrote {} ({entries} entries, {bytes} bytes)",
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("{}: {e}", path.display())),
        };
    }

    if let Err(e) = std::fs::create_dir_all(&out) {
        return fail(&format!("{}: {e}", out.display()));
    }
    for (build, variant) in scenarios::all() {
        let s = build(variant);
        let path = out.join(format!("{}.har", s.file_stem));
        let result = File::create(&path)
            .map(BufWriter::new)
            .and_then(|f| har_writer::write_scenario(f, &s));
        match result {
            Ok(_) => println!(
                "wrote {} ({} entries): {}",
                path.display(),
                s.exchanges.len(),
                s.description
            ),
            Err(e) => return fail(&format!("{}: {e}", path.display())),
        }
        let kinds = capture_writer::CAPTURES
            .iter()
            .filter(|(stem, _)| *stem == s.file_stem)
            .map(|(_, kind)| *kind);
        for kind in kinds {
            let path = out.join(format!("{}.{}", s.file_stem, kind.extension()));
            let result = File::create(&path)
                .map(BufWriter::new)
                .and_then(|f| capture_writer::write_scenario(f, &s, kind));
            match result {
                Ok(()) => println!("wrote {}", path.display()),
                Err(e) => return fail(&format!("{}: {e}", path.display())),
            }
        }
        for sample in tls_samples::samples()
            .iter()
            .filter(|t| t.stem == s.file_stem)
        {
            let files = match tls_samples::files(&s, sample) {
                Ok(f) => f,
                Err(e) => return fail(&format!("{}: {e}", s.file_stem)),
            };
            for (name, bytes) in files {
                let path = out.join(name);
                match std::fs::write(&path, bytes) {
                    Ok(()) => println!("wrote {}", path.display()),
                    Err(e) => return fail(&format!("{}: {e}", path.display())),
                }
            }
        }
    }
    ExitCode::SUCCESS
}

/// One huge flow (`one_flow.rs`) written to `path`.
fn write_one_flow(shape: &str, steps: usize, path: &std::path::Path) -> ExitCode {
    let Some(bytes) = one_flow::har(shape, steps) else {
        return fail(&format!(
            "unknown flow shape {shape:?}; one of {}",
            one_flow::SHAPES.join(", ")
        ));
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return fail(&format!("{}: {e}", dir.display()));
        }
    }
    match std::fs::write(path, &bytes) {
        Ok(()) => {
            println!(
                "wrote {} ({steps} entries, {} bytes)",
                path.display(),
                bytes.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("{}: {e}", path.display())),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("make_samples: {msg}");
    ExitCode::from(2)
}
