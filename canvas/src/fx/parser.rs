//! Precedence climbing over the tokens, low to high (Precedence.cs):
//! `;` chaining < `Or ||` < `And &&` < `in exactin` < comparisons < `&` <
//! `+ -` < `* /` < `As` < prefix `- ! Not` < `^` < postfix `%` < `.` `!`
//! calls `[@`. Nesting is capped so hostile input cannot overflow the stack.

use super::FxError;
use super::ast::{BinOp, Expr, ExprKind, UnOp};
use super::lexer::{InterpPart, Tok, Token, tokenize};

const MAX_DEPTH: usize = 100;

/// Parses one formula (the text after a property's `=`). `;` chaining is
/// accepted everywhere: data properties never hold it, behaviour ones do.
pub fn parse(src: &str) -> Result<Expr, FxError> {
    let mut p = Parser::new(src, 0)?;
    if p.toks.is_empty() {
        return Ok(Expr {
            kind: ExprKind::Blank,
            at: 0,
        });
    }
    let e = p.chain()?;
    p.expect_end()?;
    Ok(e)
}

/// `App.Formulas`: `Name = expr; Other = expr;` (also `Name := expr`).
/// User-defined functions (`F(a: Number): Text = expr;`) are kept under
/// their name with their body.
pub fn parse_named_formulas(src: &str) -> Result<Vec<(String, Expr)>, FxError> {
    let mut p = Parser::new(src, 0)?;
    let mut out = Vec::new();
    while p.pos < p.toks.len() {
        let at = p.here();
        let name = match p.next() {
            Some(Tok::Ident(n)) => n,
            _ => return Err(FxError::new(at, "expected a formula name")),
        };
        if p.peek_is(&Tok::P("(")) {
            // A user-defined function: skip its signature up to `=`.
            while let Some(t) = p.next() {
                if t == Tok::P("=") {
                    break;
                }
            }
        } else if p.peek_is(&Tok::P(":")) && p.peek2_is(&Tok::P("=")) {
            p.pos += 2;
        } else if !p.eat(&Tok::P("=")) {
            return Err(FxError::new(p.here(), format!("expected = after {name}")));
        }
        let body = if p.peek_is(&Tok::P("{")) && p.is_udf_block() {
            p.block()?
        } else {
            p.expr(0)?
        };
        out.push((name, body));
        if !p.eat(&Tok::P(";")) && p.pos < p.toks.len() {
            return Err(FxError::new(p.here(), "expected ; between named formulas"));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    base: usize,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, base: usize) -> Result<Self, FxError> {
        let toks = tokenize(src).map_err(|e| FxError::new(e.at + base, e.message))?;
        Ok(Parser {
            src,
            base,
            toks,
            pos: 0,
            depth: 0,
        })
    }

    fn here(&self) -> usize {
        self.base
            + self
                .toks
                .get(self.pos)
                .map_or(self.src.len(), |t: &Token| t.at)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_is(&self, t: &Tok) -> bool {
        self.peek() == Some(t)
    }

    fn peek2_is(&self, t: &Tok) -> bool {
        self.toks.get(self.pos + 1).map(|x| &x.tok) == Some(t)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.tok.clone());
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek_is(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), FxError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, what: &str) -> FxError {
        let found = match self.peek() {
            None => "the end of the formula".to_string(),
            Some(t) => describe(t),
        };
        FxError::new(self.here(), format!("expected {what}, found {found}"))
    }

    fn expect_end(&self) -> Result<(), FxError> {
        if self.pos < self.toks.len() {
            Err(self.unexpected("an operator or the end of the formula"))
        } else {
            Ok(())
        }
    }

    fn enter(&mut self) -> Result<(), FxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(FxError::new(
                self.here(),
                format!("formula nests deeper than {MAX_DEPTH} levels"),
            ))
        } else {
            Ok(())
        }
    }

    /// `a; b; c` (a trailing `;` is allowed, as Studio writes).
    fn chain(&mut self) -> Result<Expr, FxError> {
        let at = self.here();
        let mut items = vec![self.expr(0)?];
        while self.eat(&Tok::P(";")) {
            if self.at_chain_end() {
                break;
            }
            items.push(self.expr(0)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr {
                kind: ExprKind::Blank,
                at,
            })
        } else {
            Expr {
                kind: ExprKind::Chain(items),
                at,
            }
        })
    }

    fn at_chain_end(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(Tok::P(")")) | Some(Tok::P(",")) | Some(Tok::P("}")) | Some(Tok::P("]"))
        )
    }

    fn binop(&self, level: usize) -> Option<BinOp> {
        let t = self.peek()?;
        let op = match (level, t) {
            (0, Tok::P("||") | Tok::Kw("Or")) => BinOp::Or,
            (1, Tok::P("&&") | Tok::Kw("And")) => BinOp::And,
            (2, Tok::Kw("in")) => BinOp::In,
            (2, Tok::Kw("exactin")) => BinOp::ExactIn,
            (3, Tok::P("=")) => BinOp::Eq,
            (3, Tok::P("<>")) => BinOp::Ne,
            (3, Tok::P("<")) => BinOp::Lt,
            (3, Tok::P("<=")) => BinOp::Le,
            (3, Tok::P(">")) => BinOp::Gt,
            (3, Tok::P(">=")) => BinOp::Ge,
            (4, Tok::P("&")) => BinOp::Concat,
            (5, Tok::P("+")) => BinOp::Add,
            (5, Tok::P("-")) => BinOp::Sub,
            (6, Tok::P("*")) => BinOp::Mul,
            (6, Tok::P("/")) => BinOp::Div,
            _ => return None,
        };
        Some(op)
    }

    /// Binary levels 0 (Or) to 6 (Mul), left-associative.
    fn expr(&mut self, level: usize) -> Result<Expr, FxError> {
        if level > 6 {
            return self.as_expr();
        }
        let mut left = self.expr(level + 1)?;
        while let Some(op) = self.binop(level) {
            let at = self.here();
            self.pos += 1;
            let right = self.expr(level + 1)?;
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                at,
            };
        }
        Ok(left)
    }

    fn as_expr(&mut self) -> Result<Expr, FxError> {
        let mut e = self.unary()?;
        while self.peek_is(&Tok::Kw("As")) {
            let at = self.here();
            self.pos += 1;
            match self.next() {
                Some(Tok::Ident(n)) => {
                    e = Expr {
                        kind: ExprKind::As(Box::new(e), n),
                        at,
                    }
                }
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return Err(self.unexpected("a name after As"));
                }
            }
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, FxError> {
        self.enter()?;
        let at = self.here();
        let op = match self.peek() {
            Some(Tok::P("-")) => Some(UnOp::Neg),
            Some(Tok::P("!")) | Some(Tok::Kw("Not")) => Some(UnOp::Not),
            _ => None,
        };
        let e = if let Some(op) = op {
            self.pos += 1;
            let inner = self.unary()?;
            Expr {
                kind: ExprKind::Unary(op, Box::new(inner)),
                at,
            }
        } else {
            self.power()?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn power(&mut self) -> Result<Expr, FxError> {
        let mut left = self.postfix()?;
        while self.peek_is(&Tok::P("^")) {
            let at = self.here();
            self.pos += 1;
            let right = self.postfix()?;
            left = Expr {
                kind: ExprKind::Binary(BinOp::Pow, Box::new(left), Box::new(right)),
                at,
            };
        }
        Ok(left)
    }

    fn postfix(&mut self) -> Result<Expr, FxError> {
        let mut e = self.primary()?;
        loop {
            let at = self.here();
            match self.peek() {
                Some(Tok::P(".")) | Some(Tok::P("!")) => {
                    // `!` is the legacy `.`, unless it starts `!=`-like
                    // negation of the next operand (not valid here anyway).
                    self.pos += 1;
                    let name = match self.next() {
                        Some(Tok::Ident(n)) => n,
                        _ => {
                            self.pos = self.pos.saturating_sub(1);
                            return Err(self.unexpected("a name after ."));
                        }
                    };
                    if self.peek_is(&Tok::P("(")) {
                        let Some(ns) = dotted_name(&e) else {
                            return Err(FxError::new(at, "only a name can be called"));
                        };
                        self.pos += 1;
                        let args = self.args(")")?;
                        e = Expr {
                            kind: ExprKind::Call {
                                namespace: Some(ns),
                                name,
                                args,
                            },
                            at: e.at,
                        };
                    } else {
                        e = Expr {
                            kind: ExprKind::Dot(Box::new(e), name),
                            at,
                        };
                    }
                }
                Some(Tok::P("[@")) => {
                    self.pos += 1;
                    let name = self.ident("a name after [@")?;
                    self.expect(&Tok::P("]"), "]")?;
                    e = Expr {
                        kind: ExprKind::Disambiguated {
                            scope: Some(Box::new(e)),
                            name,
                        },
                        at,
                    };
                }
                Some(Tok::P("%")) => {
                    self.pos += 1;
                    e = Expr {
                        kind: ExprKind::Unary(UnOp::Percent, Box::new(e)),
                        at,
                    };
                }
                _ => return Ok(e),
            }
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, FxError> {
        match self.peek() {
            Some(Tok::Ident(n)) => {
                let n = n.clone();
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn primary(&mut self) -> Result<Expr, FxError> {
        self.enter()?;
        let at = self.here();
        let Some(tok) = self.next() else {
            return Err(self.unexpected("a value"));
        };
        let kind = match tok {
            Tok::Ident(name) => {
                if self.eat(&Tok::P("(")) {
                    let args = self.args(")")?;
                    ExprKind::Call {
                        namespace: None,
                        name,
                        args,
                    }
                } else {
                    ExprKind::Name(name)
                }
            }
            Tok::Number(n) => ExprKind::Number(n),
            Tok::Text(t) => ExprKind::Text(t),
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::Interp(parts) => {
                let mut out = Vec::new();
                for part in parts {
                    match part {
                        InterpPart::Text(t) => out.push(Expr {
                            kind: ExprKind::Text(t),
                            at,
                        }),
                        InterpPart::Hole(s, e) => {
                            let sub = &self.src[s..e];
                            let mut p = Parser::new(sub, self.base + s)?;
                            p.depth = self.depth;
                            if p.toks.is_empty() {
                                return Err(FxError::new(self.base + s, "empty {} in text"));
                            }
                            let x = p.chain()?;
                            p.expect_end()?;
                            out.push(x);
                        }
                    }
                }
                ExprKind::Interpolated(out)
            }
            Tok::P("(") => {
                let e = self.chain()?;
                self.expect(&Tok::P(")"), ")")?;
                self.depth -= 1;
                return Ok(e);
            }
            Tok::P("{") => {
                let mut fields = Vec::new();
                if !self.eat(&Tok::P("}")) {
                    loop {
                        let name = self.ident("a field name")?;
                        self.expect(&Tok::P(":"), ":")?;
                        let v = self.chain()?;
                        fields.push((name, v));
                        if self.eat(&Tok::P("}")) {
                            break;
                        }
                        self.expect(&Tok::P(","), ", or }")?;
                    }
                }
                ExprKind::Record(fields)
            }
            Tok::P("[") => ExprKind::Table(self.args("]")?),
            Tok::P("[@") => {
                let name = self.ident("a name after [@")?;
                self.expect(&Tok::P("]"), "]")?;
                ExprKind::Disambiguated { scope: None, name }
            }
            other => {
                self.pos -= 1;
                let _ = other;
                return Err(self.unexpected("a value"));
            }
        };
        self.depth -= 1;
        Ok(Expr { kind, at })
    }

    /// Arguments up to `close`; an empty argument (`F(a,,b)`) is `Blank`.
    fn args(&mut self, close: &'static str) -> Result<Vec<Expr>, FxError> {
        let mut out = Vec::new();
        if self.eat(&Tok::P(close)) {
            return Ok(out);
        }
        loop {
            let at = self.here();
            if self.peek_is(&Tok::P(",")) || self.peek_is(&Tok::P(close)) {
                out.push(Expr {
                    kind: ExprKind::Blank,
                    at,
                });
            } else {
                out.push(self.chain()?);
            }
            if self.eat(&Tok::P(close)) {
                return Ok(out);
            }
            self.expect(&Tok::P(","), &format!(", or {close}"))?;
        }
    }

    /// A UDF body in braces (`F(): Void = { Set(a, 1); };`), told apart
    /// from a record literal by the absence of `name:` after `{`.
    fn is_udf_block(&self) -> bool {
        !(matches!(
            self.toks.get(self.pos + 1).map(|t| &t.tok),
            Some(Tok::Ident(_))
        ) && matches!(
            self.toks.get(self.pos + 2).map(|t| &t.tok),
            Some(Tok::P(":"))
        ))
    }

    fn block(&mut self) -> Result<Expr, FxError> {
        self.expect(&Tok::P("{"), "{")?;
        let e = self.chain()?;
        self.expect(&Tok::P("}"), "}")?;
        Ok(e)
    }
}

/// `A.B.C` as `"A.B.C"` when every part is a plain name (a namespaced
/// function such as `Office365Users.SearchUser`).
fn dotted_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.clone()),
        ExprKind::Dot(inner, n) => dotted_name(inner).map(|p| format!("{p}.{n}")),
        _ => None,
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(n) => format!("name {n}"),
        Tok::Number(n) => format!("number {n}"),
        Tok::Text(_) | Tok::Interp(_) => "text".into(),
        Tok::True => "true".into(),
        Tok::False => "false".into(),
        Tok::Kw(k) => k.to_string(),
        Tok::P(p) => format!("{p:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of the tree, to assert shapes in one line.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Blank => "_".into(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Disambiguated { scope, name } => match scope {
                Some(s) => format!("{}[@{name}]", show(s)),
                None => format!("[@{name}]"),
            },
            ExprKind::Text(t) => format!("{t:?}"),
            ExprKind::Number(n) => n.clone(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Interpolated(v) => {
                format!("$({})", v.iter().map(show).collect::<Vec<_>>().join(" "))
            }
            ExprKind::Dot(a, n) => format!("{}.{n}", show(a)),
            ExprKind::Call {
                namespace,
                name,
                args,
            } => format!(
                "{}{name}({})",
                namespace
                    .as_ref()
                    .map(|n| format!("{n}::"))
                    .unwrap_or_default(),
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Record(f) => format!(
                "{{{}}}",
                f.iter()
                    .map(|(k, v)| format!("{k}: {}", show(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ExprKind::Table(v) => {
                format!("[{}]", v.iter().map(show).collect::<Vec<_>>().join(", "))
            }
            ExprKind::Unary(op, a) => format!("{op:?}({})", show(a)),
            ExprKind::Binary(op, a, b) => format!("{op:?}({}, {})", show(a), show(b)),
            ExprKind::As(a, n) => format!("As({}, {n})", show(a)),
            ExprKind::Chain(v) => v.iter().map(show).collect::<Vec<_>>().join("; "),
        }
    }

    fn p(s: &str) -> String {
        show(&parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    #[test]
    fn precedence_follows_power_fx() {
        assert_eq!(
            p("a || b && c = 1 + 2 * 3"),
            "Or(a, And(b, Eq(c, Add(1, Mul(2, 3)))))"
        );
        assert_eq!(p("a & b = c"), "Eq(Concat(a, b), c)");
        assert_eq!(p("Not a.b And !c"), "And(Not(a.b), Not(c))");
        assert_eq!(p("-2 ^ 2"), "Neg(Pow(2, 2))");
        assert_eq!(p("50% * x"), "Mul(Percent(50), x)");
        assert_eq!(
            p("'Name' in Col.Selected Or x exactin y"),
            "Or(In(Name, Col.Selected), ExactIn(x, y))"
        );
    }

    #[test]
    fn canvas_shapes() {
        assert_eq!(
            p(
                "Sort(Filter(Timesheets,'Timesheets (Views)'.'My Timesheets','Date Worked'>= D.SelectedDate),'Date Worked')"
            ),
            "Sort(Filter(Timesheets, Timesheets (Views).My Timesheets, Ge(Date Worked, D.SelectedDate)), Date Worked)"
        );
        assert_eq!(
            p("Set(a, User()); ClearCollect(c, {x: 1, 'y z': \"t\"});"),
            "Set(a, User()); ClearCollect(c, {x: 1, y z: \"t\"})"
        );
        assert_eq!(
            p("ForAll(colRooms As Room, Room.Name)"),
            "ForAll(As(colRooms, Room), Room.Name)"
        );
        assert_eq!(
            p("Office365Users.SearchUser({searchTerm: t}).Mail"),
            "Office365Users::SearchUser({searchTerm: t}).Mail"
        );
        assert_eq!(
            p("DataSourceInfo([@Contacts], x, \"a\")"),
            "DataSourceInfo([@Contacts], x, \"a\")"
        );
        assert_eq!(p("Accounts[@Name]"), "Accounts[@Name]");
        assert_eq!(
            p("$\"{Slot.Id}|{Room.Room}\""),
            "$(Slot.Id \"|\" Room.Room)"
        );
        assert_eq!(p("And(a, b) || Or(c)"), "Or(And(a, b), Or(c))");
        assert_eq!(p("[\"new_name\", 1]"), "[\"new_name\", 1]");
        assert_eq!(
            p("If(x, Set(a, 1); Set(b, 2), )"),
            "If(x, Set(a, 1); Set(b, 2), _)"
        );
        assert_eq!(p("a!b"), "a.b");
        assert_eq!(p(""), "_");
        assert_eq!(p("  // only a comment"), "_");
    }

    #[test]
    fn named_formulas() {
        let f = parse_named_formulas("U=4; MinCellWith=100*U; Me := User();").unwrap();
        let names: Vec<_> = f.iter().map(|(n, e)| format!("{n}={}", show(e))).collect();
        assert_eq!(names, vec!["U=4", "MinCellWith=Mul(100, U)", "Me=User()"]);
        let f = parse_named_formulas("Double(x: Number): Number = x * 2;").unwrap();
        assert_eq!(show(&f[0].1), "Mul(x, 2)");
    }

    #[test]
    fn errors_carry_offsets_never_panic() {
        assert_eq!(parse("Filter(T, a = )").unwrap_err().at, 14);
        assert_eq!(parse("a b").unwrap_err().at, 2);
        assert_eq!(parse("{a 1}").unwrap_err().at, 3);
        assert_eq!(parse("$\"x {a +} y\"").unwrap_err().at, 8);
        let deep = "(".repeat(10_000);
        assert!(parse(&deep).unwrap_err().message.contains("nests deeper"));
        let deep = "-".repeat(10_000);
        assert!(parse(&deep).is_err());
    }
}
