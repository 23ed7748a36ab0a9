//! The canvas fuzz targets' seeds (`fuzz/seeds/canvas_*`) and anything
//! they ever crashed on (`fuzz/regressions/canvas_*`), through the same
//! entry points as `scripts/fuzz`, plus every prefix of every seed (cut
//! formulas and YAML are the likeliest bad input): each answers Ok or a
//! typed error, never a panic or a stack overflow.

use std::path::Path;

type Entry = fn(&[u8]) -> Result<(), String>;

const TARGETS: [(&str, Entry); 2] = [
    ("canvas_formula", mooring_canvas::fuzzing::formula),
    ("canvas_app", mooring_canvas::fuzzing::app_yaml),
];

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn seeds_parse_and_no_input_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut seeds = 0;
    for (name, entry) in TARGETS {
        for f in files(&root.join("seeds").join(name)) {
            let data = std::fs::read(&f).unwrap();
            assert_eq!(
                entry(&data).map_err(|e| format!("{}: {e}", f.display())),
                Ok(())
            );
            for cut in 0..data.len() {
                let r = std::panic::catch_unwind(|| entry(&data[..cut]));
                assert!(r.is_ok(), "{name}: {} cut at {cut} panicked", f.display());
            }
            seeds += 1;
        }
        for f in files(&root.join("regressions").join(name)) {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| entry(&data));
            assert!(r.is_ok(), "{name}: {} panicked", f.display());
        }
    }
    assert!(seeds >= 5, "the seeds are missing ({seeds})");
    // Nesting past the parser's cap is an error, not a stack overflow.
    for deep in [
        "(".repeat(100_000),
        "-".repeat(100_000),
        "F(".repeat(50_000),
        "{a:".repeat(50_000),
    ] {
        assert!(mooring_canvas::fuzzing::formula(deep.as_bytes()).is_err());
    }
}
