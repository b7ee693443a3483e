//! Installs the front-end packages (Bootstrap, Chart.js with its zoom plugin and
//! Hammer.js for pinching, SortableJS, htmx) from npm and hands their built files to the crate, so
//! `cargo run` needs no separate front-end step and nothing from npm is committed.

use std::path::PathBuf;
use std::process::Command;

const FILES: [(&str, &str); 7] = [
    (
        "node_modules/bootstrap/dist/css/bootstrap.min.css",
        "bootstrap.min.css",
    ),
    (
        "node_modules/bootstrap/dist/js/bootstrap.bundle.min.js",
        "bootstrap.bundle.min.js",
    ),
    (
        "node_modules/chart.js/dist/chart.umd.min.js",
        "chart.umd.min.js",
    ),
    ("node_modules/sortablejs/Sortable.min.js", "sortable.min.js"),
    ("node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"),
    ("node_modules/hammerjs/hammer.min.js", "hammer.min.js"),
    (
        "node_modules/chartjs-plugin-zoom/dist/chartjs-plugin-zoom.min.js",
        "chartjs-plugin-zoom.min.js",
    ),
];

fn main() {
    let assets = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("assets");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=assets/package.json");
    println!("cargo:rerun-if-changed=assets/package-lock.json");
    for (source, _) in FILES {
        println!("cargo:rerun-if-changed=assets/{source}");
    }
    if FILES
        .iter()
        .any(|(source, _)| !assets.join(source).exists())
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&assets)
            .status()
            .unwrap_or_else(|e| {
                panic!("Brigade's web assets need Node.js and npm on the PATH to build ({e})")
            });
        assert!(status.success(), "npm ci in {} failed", assets.display());
    }
    for (source, name) in FILES {
        std::fs::copy(assets.join(source), out.join(name))
            .unwrap_or_else(|e| panic!("cannot copy {source}: {e}"));
    }
}
