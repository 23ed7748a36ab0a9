//! Every input the fuzzers ever crashed on (`fuzz/regressions/<target>/`)
//! and every seed (`fuzz/seeds/<target>/`), fed through the same entry
//! points as `scripts/fuzz`: each must answer Ok or a typed error, never
//! panic or overflow the stack. Plus a quick sweep of arbitrary bytes over
//! each parser, so CI exercises them without libFuzzer.

use std::path::Path;

use proptest::prelude::*;

type Entry = fn(&[u8]) -> Result<(), String>;

const TARGETS: [(&str, Entry); 7] = [
    ("page", mooring_core::fuzzing::page),
    ("delta", mooring_core::fuzzing::delta),
    ("batch_response", mooring_core::fuzzing::batch_response),
    ("error_body", mooring_core::fuzzing::error_body),
    ("manifest", mooring_core::fuzzing::manifest),
    ("profile", mooring_core::fuzzing::profile),
    ("devserver_filter", mooring_devserver::fuzzing::filter),
];

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_kept_input_gives_ok_or_a_typed_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut seen = 0;
    for (name, entry) in TARGETS {
        for kind in ["regressions", "seeds"] {
            for f in files(&root.join(kind).join(name)) {
                let data = std::fs::read(&f).expect("readable");
                // A panic fails the test with the file's name in view.
                let r = std::panic::catch_unwind(|| entry(&data));
                assert!(r.is_ok(), "{name}: {} panicked", f.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 14, "the seeds are missing ({seen} files)");
    // Seeds are valid inputs: they parse.
    for (name, entry) in TARGETS {
        for f in files(&root.join("seeds").join(name)) {
            let data = std::fs::read(&f).expect("readable");
            let bad = ["portal", "html", "dup"]
                .iter()
                .any(|w| f.to_string_lossy().contains(w));
            if !bad {
                assert_eq!(entry(&data), Ok(()), "{name}: {}", f.display());
            }
        }
    }
}

/// Bytes that look like the real thing: a seed with a few bytes changed,
/// cut or repeated.
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..8),
        0..=len,
        0..4usize,
    )
        .prop_map(move |(edits, cut, repeat)| {
            let mut b = seed.clone();
            for (i, v) in edits {
                if i < b.len() {
                    b[i] = v;
                }
            }
            b.truncate(cut);
            let tail = b.clone();
            for _ in 0..repeat {
                b.extend_from_slice(&tail);
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (_, entry) in TARGETS {
            let _ = entry(&data);
        }
    }

    #[test]
    fn mutated_seeds_never_panic(
        which in 0..TARGETS.len(),
        data in proptest::sample::select(seed_files()).prop_flat_map(mutated),
    ) {
        let _ = TARGETS[which].1(&data);
        for (_, entry) in TARGETS {
            let _ = entry(&data);
        }
    }
}

fn seed_files() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut out = Vec::new();
    for (name, _) in TARGETS {
        for f in files(&root.join(name)) {
            if let Ok(b) = std::fs::read(f) {
                out.push(b);
            }
        }
    }
    if out.is_empty() {
        out.push(b"{}".to_vec());
    }
    out
}
