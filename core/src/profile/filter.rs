//! A parser for the OData `$filter` subset a profile may use, so a bad filter
//! is caught before any download with a message naming it, and the columns
//! it mentions can be checked against the schema. The filter text itself is
//! sent to the server as written (only percent-encoded), never re-printed.

use std::fmt;

/// A parsed filter: only what validation needs (structure and columns).
#[derive(Clone, Debug, PartialEq)]
pub enum FilterExpr {
    And(Box<FilterExpr>, Box<FilterExpr>),
    Or(Box<FilterExpr>, Box<FilterExpr>),
    Not(Box<FilterExpr>),
    Compare {
        left: Operand,
        op: &'static str,
        right: Operand,
    },
    /// A boolean function (`contains(name,'x')`, `Microsoft.Dynamics.CRM.Today(PropertyName='createdon')`)
    /// or a boolean column.
    Value(Operand),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Property(String),
    Literal(String),
    Call {
        name: String,
        args: Vec<Operand>,
    },
    /// `PropertyName='x'` inside a Microsoft.Dynamics.CRM function call.
    Named {
        name: String,
        value: Box<Operand>,
    },
    List(Vec<Operand>),
}

impl FilterExpr {
    /// Every column the filter mentions (properties, and the `PropertyName`
    /// argument of the Dataverse query functions).
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut out);
        out
    }

    fn walk(&self, out: &mut Vec<String>) {
        match self {
            FilterExpr::And(a, b) | FilterExpr::Or(a, b) => {
                a.walk(out);
                b.walk(out);
            }
            FilterExpr::Not(a) => a.walk(out),
            FilterExpr::Compare { left, right, .. } => {
                left.walk(out);
                right.walk(out);
            }
            FilterExpr::Value(o) => o.walk(out),
        }
    }
}

impl Operand {
    fn walk(&self, out: &mut Vec<String>) {
        match self {
            Operand::Property(p) => out.push(p.clone()),
            Operand::Literal(_) => {}
            Operand::Call { args, .. } | Operand::List(args) => {
                args.iter().for_each(|a| a.walk(out))
            }
            Operand::Named { name, value } => {
                if name.eq_ignore_ascii_case("PropertyName") {
                    if let Operand::Literal(l) = value.as_ref() {
                        out.push(l.trim_matches('\'').replace("''", "'"));
                    }
                }
                value.walk(out);
            }
        }
    }
}

#[derive(Debug, PartialEq)]
pub struct FilterError(String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Equals,
    Str(String),
    /// Numbers, GUIDs, dates: anything that starts with a digit or `-`.
    Bare(String),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b'[' | b']' | b',' | b'=' => {
                out.push(match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b',' => Tok::Comma,
                    _ => Tok::Equals,
                });
                i += 1
            }
            b'\'' => {
                let start = i;
                i += 1;
                loop {
                    if i >= b.len() {
                        return Err(FilterError(format!(
                            "unterminated string starting at offset {start}"
                        )));
                    }
                    if b[i] == b'\'' {
                        if i + 1 < b.len() && b[i + 1] == b'\'' {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                out.push(Tok::Str(s[start..i].to_string()));
            }
            c if c.is_ascii_digit() || c == b'-' => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b':' | b'.' | b'+'))
                {
                    i += 1;
                }
                out.push(Tok::Bare(s[start..i].to_string()));
            }
            // A GUID literal may start with a letter (c81f7496-...).
            _ if is_guid(&b[i..]) => {
                out.push(Tok::Bare(s[i..i + 36].to_string()));
                i += 36;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.')) {
                    i += 1;
                }
                out.push(Tok::Ident(s[start..i].to_string()));
            }
            _ => {
                return Err(FilterError(format!(
                    "unexpected character {:?} at offset {i}",
                    s[i..].chars().next().unwrap_or('?')
                )));
            }
        }
    }
    Ok(out)
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex) at the start of `b`, not
/// followed by more identifier characters.
fn is_guid(b: &[u8]) -> bool {
    if b.len() < 36
        || b.get(36)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return false;
    }
    b[..36].iter().enumerate().all(|(i, c)| {
        if matches!(i, 8 | 13 | 18 | 23) {
            *c == b'-'
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

const COMPARISONS: [&str; 6] = ["eq", "ne", "gt", "ge", "lt", "le"];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Nesting so far (parentheses, `not`, lists, calls): bounded so a
    /// hostile filter cannot overflow the stack (fuzz/regressions/profile).
    depth: usize,
}

/// Deeper nesting than any real filter needs; the emulator allows the same.
const MAX_DEPTH: usize = 100;

/// Parses an OData `$filter` expression (comparisons, and/or/not,
/// parentheses, string/number/GUID/date literals, function calls).
pub fn parse_filter(s: &str) -> Result<FilterExpr, FilterError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(FilterError("empty filter".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(FilterError(format!(
            "unexpected {} after a complete expression",
            p.describe()
        )));
    }
    Ok(e)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of filter".into(),
            Some(Tok::Ident(s) | Tok::Bare(s) | Tok::Str(s)) => format!("{s:?}"),
            Some(t) => format!("{t:?}"),
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if let Some(Tok::Ident(s)) = self.peek() {
            if s.eq_ignore_ascii_case(kw) {
                self.pos += 1;
                return true;
            }
        }
        false
    }

    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(FilterError(format!(
                "expected {t:?}, found {}",
                self.describe()
            )))
        }
    }

    /// Enters one level of nesting, or refuses past `MAX_DEPTH`.
    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError(format!(
                "the filter is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<FilterExpr, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            let right = self.and()?;
            left = FilterExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<FilterExpr, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            let right = self.unary()?;
            left = FilterExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<FilterExpr, FilterError> {
        if self.keyword("not") {
            self.deeper()?;
            let e = FilterExpr::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(e);
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            self.deeper()?;
            let e = self.or()?;
            self.expect(Tok::RParen)?;
            self.depth -= 1;
            return Ok(e);
        }
        let left = self.operand()?;
        if let Some(Tok::Ident(s)) = self.peek() {
            if let Some(op) = COMPARISONS.iter().find(|op| s.eq_ignore_ascii_case(op)) {
                self.pos += 1;
                let right = self.operand()?;
                return Ok(FilterExpr::Compare { left, op, right });
            }
        }
        if matches!(left, Operand::Literal(_)) {
            return Err(FilterError(format!(
                "expected a comparison operator (eq, ne, gt, ge, lt, le), found {}",
                self.describe()
            )));
        }
        Ok(FilterExpr::Value(left))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let tok = self.peek().cloned();
        match tok {
            Some(Tok::Str(s)) | Some(Tok::Bare(s)) => {
                self.pos += 1;
                Ok(Operand::Literal(s))
            }
            Some(Tok::LBracket) => {
                self.pos += 1;
                self.deeper()?;
                let mut items = Vec::new();
                if self.peek() != Some(&Tok::RBracket) {
                    loop {
                        items.push(self.operand()?);
                        if self.peek() == Some(&Tok::Comma) {
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(Tok::RBracket)?;
                self.depth -= 1;
                Ok(Operand::List(items))
            }
            Some(Tok::Ident(name)) => {
                let lower = name.to_ascii_lowercase();
                if matches!(lower.as_str(), "and" | "or" | "not")
                    || COMPARISONS.contains(&lower.as_str())
                {
                    return Err(FilterError(format!(
                        "expected a column or a value, found the operator {name:?}"
                    )));
                }
                self.pos += 1;
                if matches!(lower.as_str(), "true" | "false" | "null") {
                    return Ok(Operand::Literal(lower));
                }
                if self.peek() == Some(&Tok::LParen) {
                    self.pos += 1;
                    self.deeper()?;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::RParen) {
                        loop {
                            args.push(self.argument()?);
                            if self.peek() == Some(&Tok::Comma) {
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(Tok::RParen)?;
                    self.depth -= 1;
                    return Ok(Operand::Call { name, args });
                }
                if name.contains('.') {
                    return Err(FilterError(format!("{name:?} is not a column name")));
                }
                Ok(Operand::Property(name))
            }
            _ => Err(FilterError(format!(
                "expected a column or a value, found {}",
                self.describe()
            ))),
        }
    }

    fn argument(&mut self) -> Result<Operand, FilterError> {
        if let (Some(Tok::Ident(name)), Some(Tok::Equals)) = (
            self.toks.get(self.pos).cloned(),
            self.toks.get(self.pos + 1),
        ) {
            self.pos += 2;
            let value = self.operand()?;
            return Ok(Operand::Named {
                name,
                value: Box::new(value),
            });
        }
        self.operand()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_shapes() {
        for f in [
            "statecode eq 0",
            "name eq 'O''Brien' and (revenue gt 1000.5 or numberofemployees le -3)",
            "not contains(name,'x')",
            "_parentcustomerid_value eq 2e451703-c686-e711-80e5-00155db19e6d",
            "_ownerid_value ne c81f7496-588a-4824-8d00-cd90c947bfb5 and accountid ne fa000000-0000-0000-0000-000000000001",
            "modifiedon ge 2024-01-01T00:00:00Z",
            "Microsoft.Dynamics.CRM.In(PropertyName='address1_city',PropertyValues=['Oslo','Rome'])",
            "telephone1 ne null",
        ] {
            parse_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }

    #[test]
    fn collects_columns() {
        let e =
            parse_filter("name eq 'a' or Microsoft.Dynamics.CRM.Today(PropertyName='createdon')")
                .unwrap();
        assert_eq!(
            e.columns(),
            vec!["name".to_string(), "createdon".to_string()]
        );
    }

    #[test]
    fn rejects_garbage() {
        for f in [
            "",
            "name eq",
            "eq 1",
            "(name eq 1",
            "name eq 'x",
            "name eq 1 1",
            "1 eq",
            "name % 2",
            "'a'",
        ] {
            assert!(parse_filter(f).is_err(), "{f} should not parse");
        }
    }

    #[test]
    fn nesting_is_bounded_not_a_stack_overflow() {
        let ok = format!(
            "{}name eq 1{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse_filter(&ok).is_ok());
        for f in [
            format!(
                "{}name eq 1{}",
                "(".repeat(MAX_DEPTH + 1),
                ")".repeat(MAX_DEPTH + 1)
            ),
            format!("{}name eq 1", "not ".repeat(100_000)),
            format!("name eq {}", "[".repeat(100_000)),
            "f(".repeat(100_000),
        ] {
            let e = parse_filter(&f).unwrap_err().to_string();
            assert!(e.contains("nested"), "{e}");
        }
    }
}
