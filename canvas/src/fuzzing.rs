//! Entry points for the fuzz targets (`fuzz/fuzz_targets/canvas_*.rs`) and
//! their replay (`tests/fuzz_regressions.rs`): any bytes in, `Ok` or a
//! typed error out, never a panic.

/// A Power Fx formula, and the same text as `App.Formulas`: Ok when
/// either reading accepts it.
pub fn formula(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let a = crate::fx::parse(&text)
        .map(|_| ())
        .map_err(|e| e.to_string());
    let b = crate::fx::parse_named_formulas(&text)
        .map(|_| ())
        .map_err(|e| e.to_string());
    a.or(b)
}

/// The data sources every fuzzed app gets (a test fixture's).
const DATA_SOURCES: &str = include_str!("../tests/fixtures/unpack-jobs/DataSources/Jobs.json");

/// A one-file app: the bytes are `Src/App.fx.yaml` (either dialect), with
/// the Jobs table of a test fixture declared, read and analysed.
pub fn app_yaml(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let texts = vec![("Src/App.fx.yaml".to_string(), text.into_owned())];
    crate::source::load_texts(&texts)
        .and_then(|(format, mut app)| {
            crate::source::parse_data_source_entries("Jobs.json", DATA_SOURCES, &mut app)?;
            crate::analysis::analyze(format, &app, None)
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}
