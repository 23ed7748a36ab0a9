//! Power Fx tokens, in the invariant locale the source files hold (`,`
//! lists, `.` decimals, `;` chaining). Rules from Microsoft's
//! `TexlLexer.cs` and `docs/expression-grammar.grammar` (summarised in
//! `../shared/docs/canvas-apps.md`, section 4).

use super::FxError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name: `Filter`, `'Date Worked'` (quotes removed, `''` unescaped).
    Ident(String),
    Number(String),
    Text(String),
    /// `$"…{expr}…"`: literal parts and the source ranges of the holes.
    Interp(Vec<InterpPart>),
    True,
    False,
    /// Keywords used as operators (`And`, `Or`, `Not`, `in`, `exactin`, `As`).
    Kw(&'static str),
    /// Punctuation and operators: `(` `)` `{` `}` `[` `]` `[@` `.` `!` `,`
    /// `;` `:` `=` `<>` `<` `<=` `>` `>=` `&` `&&` `||` `+` `-` `*` `/`
    /// `^` `%` `@`.
    P(&'static str),
}

#[derive(Clone, Debug, PartialEq)]
pub enum InterpPart {
    Text(String),
    /// Byte range of an expression hole in the formula.
    Hole(usize, usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset in the formula.
    pub at: usize,
}

const PUNCT: [&str; 28] = [
    "[@", "<>", "<=", ">=", "&&", "||", "(", ")", "{", "}", "[", "]", ".", "!", ",", ";", ":", "=",
    "<", ">", "&", "+", "-", "*", "/", "^", "%", "@",
];

/// Splits a formula into tokens; comments and white space are dropped.
pub fn tokenize(src: &str) -> Result<Vec<Token>, FxError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = src[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(b.len(), |n| i + n);
            continue;
        }
        if src[i..].starts_with("/*") {
            match src[i + 2..].find("*/") {
                Some(n) => i = i + 2 + n + 2,
                None => return Err(FxError::new(i, "comment /* is never closed")),
            }
            continue;
        }
        let at = i;
        if c == '"' {
            let (text, end) = text_literal(src, i)?;
            out.push(Token {
                tok: Tok::Text(text),
                at,
            });
            i = end;
            continue;
        }
        if src[i..].starts_with("$\"") {
            let (parts, end) = interpolation(src, i)?;
            out.push(Token {
                tok: Tok::Interp(parts),
                at,
            });
            i = end;
            continue;
        }
        if c == '\'' {
            let (name, end) = quoted_ident(src, i)?;
            out.push(Token {
                tok: Tok::Ident(name),
                at,
            });
            i = end;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let end = number_end(b, i);
            out.push(Token {
                tok: Tok::Number(src[i..end].to_string()),
                at,
            });
            i = end;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut end = i;
            for ch in src[i..].chars() {
                if ch.is_alphanumeric() || ch == '_' {
                    end += ch.len_utf8();
                } else {
                    break;
                }
            }
            let word = &src[i..end];
            // `And(`, `Or(`, `Not(` are the function forms.
            let called = b.get(end) == Some(&b'(');
            let tok = match word {
                "true" => Tok::True,
                "false" => Tok::False,
                "And" | "Or" | "Not" if called => Tok::Ident(word.to_string()),
                "And" => Tok::Kw("And"),
                "Or" => Tok::Kw("Or"),
                "Not" => Tok::Kw("Not"),
                "in" => Tok::Kw("in"),
                "exactin" => Tok::Kw("exactin"),
                "As" => Tok::Kw("As"),
                _ => Tok::Ident(word.to_string()),
            };
            out.push(Token { tok, at });
            i = end;
            continue;
        }
        match PUNCT.iter().find(|p| src[i..].starts_with(**p)) {
            Some(p) => {
                out.push(Token { tok: Tok::P(p), at });
                i += p.len();
            }
            None => return Err(FxError::new(i, format!("unexpected character {c:?}"))),
        }
    }
    Ok(out)
}

fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// `"…"` with `""` for a quote; returns the text and the offset after it.
fn text_literal(src: &str, start: usize) -> Result<(String, usize), FxError> {
    delimited(src, start, '"', "text")
}

/// `'…'` with `''` for a quote.
fn quoted_ident(src: &str, start: usize) -> Result<(String, usize), FxError> {
    let (name, end) = delimited(src, start, '\'', "quoted name")?;
    if name.is_empty() {
        return Err(FxError::new(start, "empty quoted name ''"));
    }
    Ok((name, end))
}

fn delimited(src: &str, start: usize, q: char, what: &str) -> Result<(String, usize), FxError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices().peekable();
    while let Some((n, ch)) = chars.next() {
        if ch == q {
            if chars.peek().map(|(_, c)| *c) == Some(q) {
                out.push(q);
                chars.next();
                continue;
            }
            return Ok((out, start + 1 + n + 1));
        }
        out.push(ch);
    }
    Err(FxError::new(start, format!("{what} is never closed")))
}

/// `$"a {expr} b"`: `{{`/`}}` are literal braces; holes may hold strings
/// and braces of their own (records), matched here and parsed later.
fn interpolation(src: &str, start: usize) -> Result<(Vec<InterpPart>, usize), FxError> {
    let b = src.as_bytes();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = start + 2;
    while i < b.len() {
        let c = src[i..].chars().next().unwrap_or(' ');
        match c {
            '"' if b.get(i + 1) == Some(&b'"') => {
                text.push('"');
                i += 2;
            }
            '"' => {
                if !text.is_empty() {
                    parts.push(InterpPart::Text(std::mem::take(&mut text)));
                }
                return Ok((parts, i + 1));
            }
            '{' if b.get(i + 1) == Some(&b'{') => {
                text.push('{');
                i += 2;
            }
            '}' if b.get(i + 1) == Some(&b'}') => {
                text.push('}');
                i += 2;
            }
            '{' => {
                if !text.is_empty() {
                    parts.push(InterpPart::Text(std::mem::take(&mut text)));
                }
                let end = hole_end(src, i + 1)?;
                parts.push(InterpPart::Hole(i + 1, end));
                i = end + 1;
            }
            _ => {
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    Err(FxError::new(start, "interpolated text is never closed"))
}

/// The offset of the `}` closing a hole that starts at `i`.
fn hole_end(src: &str, mut i: usize) -> Result<usize, FxError> {
    let b = src.as_bytes();
    let open = i - 1;
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => i = text_literal(src, i)?.1,
            b'\'' => i = delimited(src, i, '\'', "quoted name")?.1,
            b'$' if b.get(i + 1) == Some(&b'"') => i = interpolation(src, i)?.1,
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Ok(i),
            b'}' => {
                depth -= 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    Err(FxError::new(open, "{ in interpolated text is never closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn quoted_names_text_and_keywords() {
        assert_eq!(
            toks("'O''Brien'.\"a\"\"b\" And Not(x) <> 1.5e3"),
            vec![
                Tok::Ident("O'Brien".into()),
                Tok::P("."),
                Tok::Text("a\"b".into()),
                Tok::Kw("And"),
                Tok::Ident("Not".into()),
                Tok::P("("),
                Tok::Ident("x".into()),
                Tok::P(")"),
                Tok::P("<>"),
                Tok::Number("1.5e3".into()),
            ]
        );
    }

    #[test]
    fn comments_and_interpolation() {
        let t = toks("// c\n$\"{a}|{{x}} {Rec.'b'}\" /* d */");
        assert_eq!(
            t,
            vec![Tok::Interp(vec![
                InterpPart::Hole(8, 9),
                InterpPart::Text("|{x} ".into()),
                InterpPart::Hole(18, 25),
            ])]
        );
    }

    #[test]
    fn unclosed_things_are_errors_with_offsets() {
        assert_eq!(tokenize("a & \"x").unwrap_err().at, 4);
        assert_eq!(tokenize("'abc").unwrap_err().at, 0);
        assert_eq!(tokenize("1 /* x").unwrap_err().at, 2);
        assert_eq!(tokenize("a # b").unwrap_err().at, 2);
    }
}
