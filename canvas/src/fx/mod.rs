//! Power Fx, the formula language of canvas apps: a lexer (`lexer.rs`) and a
//! precedence-climbing parser (`parser.rs`) into a small syntax tree
//! (`ast.rs`).
//!
//! Hand-written because no maintained Rust crate parses canvas formulas:
//! the one crate named `powerfx` is an alpha PEG toy that treats `'…'` as
//! text, where canvas apps use it for names (`'Date Worked'`). The grammar
//! follows Microsoft's `docs/expression-grammar.grammar` and the precedence
//! table of `Precedence.cs` (microsoft/Power-Fx), summarised in
//! `../shared/docs/canvas-apps.md`. Bad input is an [`FxError`] with the
//! byte offset; the source layer turns it into file, line and column.

pub mod ast;
pub mod lexer;
pub mod parser;

pub use ast::{BinOp, Expr, ExprKind, UnOp};
pub use parser::{parse, parse_named_formulas};

/// A formula that does not lex or parse, at a byte offset of the formula.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at offset {at})")]
pub struct FxError {
    pub at: usize,
    pub message: String,
}

impl FxError {
    pub fn new(at: usize, message: impl Into<String>) -> Self {
        FxError {
            at,
            message: message.into(),
        }
    }
}

/// 1-based line and column of a byte offset in `text` (columns count
/// characters).
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let mut line = 1;
    let mut col = 1;
    for (i, c) in text.char_indices() {
        if i >= at {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}
