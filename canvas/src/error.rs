//! The crate's one error type. Every variant names the file (and, where
//! there is one, the line and column) so a maker can find the culprit.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum CanvasError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Format(String),
    #[error("{file}:{line}:{column}: YAML: {message}")]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}:{line}:{column}: {control}.{property}: {message}")]
    Formula {
        file: String,
        line: usize,
        column: usize,
        control: String,
        property: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Json { file: String, message: String },
    /// The generated profile does not fit the server's schema.
    #[error("{0}")]
    Schema(String),
    #[error(transparent)]
    Core(#[from] mooring_core::Error),
}

impl CanvasError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CanvasError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = CanvasError> = std::result::Result<T, E>;
