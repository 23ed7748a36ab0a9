//! `$filter` and `$orderby`: a hand-written tokenizer and recursive-descent
//! parser into a small AST, compiled to parameterised SQL (values are always
//! bound, never spliced) or evaluated over JSON (metadata queries).
//!
//! Grammar:
//!   or      := and ("or" and)*
//!   and     := unary ("and" unary)*
//!   unary   := "not" unary | primary
//!   primary := "(" or ")" | func "(" prop "," literal ")" | operand op operand
//!   func    := contains | startswith | endswith
//!   op      := eq | ne | gt | ge | lt | le
//!   query   := "Microsoft.Dynamics.CRM." qfunc "(" "PropertyName=" string
//!              ["," "PropertyValue=" integer] ")"
//!   qfunc   := Today | Yesterday | Tomorrow | LastXDays | NextXDays
//!            | OlderThanXDays   (Dataverse's query functions, on dates;
//!              days are UTC days in the emulator)

use rusqlite::types::Value;
use uuid::Uuid;

use crate::api::ApiError;
use crate::schema::{AttrType, Table};

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Guid(Uuid),
    /// Normalised to `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    DateTime(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
}

/// Dataverse query functions on a date column (`Microsoft.Dynamics.CRM.*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateFunc {
    Today,
    Yesterday,
    Tomorrow,
    /// From the start of the day N days ago up to now (inclusive).
    LastXDays(i64),
    /// From now to the end of the day N days ahead.
    NextXDays(i64),
    /// Before the start of the day N days ago.
    OlderThanXDays(i64),
}

#[derive(Debug, Clone)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(String, Op, Lit),
    Func(Func, String, String),
    Date(DateFunc, String),
}

/// The half-open UTC range `[from, to)` a query function keeps, as the
/// stored date text, at `now`.
pub fn date_range(f: DateFunc, now: time::OffsetDateTime) -> (Option<String>, Option<String>) {
    let now = now.to_offset(time::UtcOffset::UTC);
    let day = |offset: i64| {
        crate::store::format_datetime(
            (now.date().midnight().assume_utc()) + time::Duration::days(offset),
        )
    };
    // Stored dates have whole seconds: "up to now" keeps this second.
    let now_text = crate::store::format_datetime(now + time::Duration::seconds(1));
    match f {
        DateFunc::Today => (Some(day(0)), Some(day(1))),
        DateFunc::Yesterday => (Some(day(-1)), Some(day(0))),
        DateFunc::Tomorrow => (Some(day(1)), Some(day(2))),
        DateFunc::LastXDays(n) => (Some(day(-n)), Some(now_text)),
        DateFunc::NextXDays(n) => (Some(now_text), Some(day(n + 1))),
        DateFunc::OlderThanXDays(n) => (None, Some(day(-n))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Str(String),
    Word(String),
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("0x80060888", msg)
}

fn tokenize(s: &str) -> Result<Vec<Tok>, ApiError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(bad(format!(
                                "Syntax error: unterminated string literal at position {i} in '{s}'."
                            )));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '\t' | '\r' | '\n' | '(' | ')' | ',' | '\'')
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

pub fn parse_filter(s: &str) -> Result<Expr, ApiError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(bad("The $filter expression is empty."));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        src: s,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(bad(format!(
            "Syntax error at position {} in '{}': unexpected '{}'.",
            p.pos,
            s,
            p.describe(p.pos)
        )));
    }
    Ok(e)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
    depth: usize,
}

enum Operand {
    Prop(String),
    Lit(Lit),
}

impl Parser<'_> {
    fn describe(&self, i: usize) -> String {
        match self.toks.get(i) {
            None => "end of expression".into(),
            Some(Tok::LParen) => "(".into(),
            Some(Tok::RParen) => ")".into(),
            Some(Tok::Comma) => ",".into(),
            Some(Tok::Str(s)) => format!("'{s}'"),
            Some(Tok::Word(w)) => w.clone(),
        }
    }
    fn err_here(&self, what: &str) -> ApiError {
        bad(format!(
            "Syntax error in $filter '{}': expected {} but found '{}'.",
            self.src,
            what,
            self.describe(self.pos)
        ))
    }
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), ApiError> {
        if self.toks.get(self.pos) == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err_here(what))
        }
    }
    fn or(&mut self) -> Result<Expr, ApiError> {
        self.depth += 1;
        if self.depth > 100 {
            return Err(bad("The $filter expression is nested too deeply."));
        }
        let mut l = self.and()?;
        while self.peek_word() == Some("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        self.depth -= 1;
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, ApiError> {
        let mut l = self.unary()?;
        while self.peek_word() == Some("and") {
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Expr, ApiError> {
        if self.peek_word() == Some("not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > 100 {
                return Err(bad("The $filter expression is nested too deeply."));
            }
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, ApiError> {
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(e);
        }
        if let Some(w) = self.peek_word().map(str::to_string) {
            if let Some(name) = w.strip_prefix("Microsoft.Dynamics.CRM.") {
                if self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
                    self.pos += 2;
                    return self.query_function(name);
                }
            }
            let func = match w.as_str() {
                "contains" => Some(Func::Contains),
                "startswith" => Some(Func::StartsWith),
                "endswith" => Some(Func::EndsWith),
                _ => None,
            };
            if let Some(f) = func {
                if self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
                    self.pos += 2;
                    let prop = match self.operand()? {
                        Operand::Prop(p) => p,
                        Operand::Lit(_) => {
                            return Err(bad(format!(
                                "The first argument of '{w}' must be a column name."
                            )));
                        }
                    };
                    self.expect(Tok::Comma, "','")?;
                    let lit = match self.operand()? {
                        Operand::Lit(Lit::Str(s)) => s,
                        _ => {
                            return Err(bad(format!(
                                "The second argument of '{w}' must be a string literal."
                            )));
                        }
                    };
                    self.expect(Tok::RParen, "')'")?;
                    return Ok(Expr::Func(f, prop, lit));
                }
            }
        }
        let left = self.operand()?;
        let op = match self.peek_word() {
            Some("eq") => Op::Eq,
            Some("ne") => Op::Ne,
            Some("gt") => Op::Gt,
            Some("ge") => Op::Ge,
            Some("lt") => Op::Lt,
            Some("le") => Op::Le,
            _ => return Err(self.err_here("a comparison operator (eq, ne, gt, ge, lt, le)")),
        };
        self.pos += 1;
        let right = self.operand()?;
        match (left, right) {
            (Operand::Prop(p), Operand::Lit(l)) => Ok(Expr::Cmp(p, op, l)),
            (Operand::Lit(l), Operand::Prop(p)) => {
                let flipped = match op {
                    Op::Gt => Op::Lt,
                    Op::Ge => Op::Le,
                    Op::Lt => Op::Gt,
                    Op::Le => Op::Ge,
                    o => o,
                };
                Ok(Expr::Cmp(p, flipped, l))
            }
            (Operand::Prop(a), Operand::Prop(b)) => Err(bad(format!(
                "Comparing two columns ('{a}' and '{b}') is not supported by this emulator."
            ))),
            (Operand::Lit(_), Operand::Lit(_)) => {
                Err(bad("A comparison needs a column on one side."))
            }
        }
    }
    /// After `Microsoft.Dynamics.CRM.<name>(`: `PropertyName='col'` and,
    /// for the X-days functions, `,PropertyValue=N`, then `)`.
    fn query_function(&mut self, name: &str) -> Result<Expr, ApiError> {
        let unknown = || {
            bad(format!(
                "'Microsoft.Dynamics.CRM.{name}' is not a query function this emulator knows (Today, Yesterday, Tomorrow, LastXDays, NextXDays, OlderThanXDays)."
            ))
        };
        let with_days = matches!(name, "LastXDays" | "NextXDays" | "OlderThanXDays");
        if !with_days && !matches!(name, "Today" | "Yesterday" | "Tomorrow") {
            return Err(unknown());
        }
        if self.peek_word() != Some("PropertyName=") {
            return Err(self.err_here("PropertyName='<column>'"));
        }
        self.pos += 1;
        let prop = match self.toks.get(self.pos) {
            Some(Tok::Str(s)) => s.clone(),
            _ => return Err(self.err_here("the column name as a string ('createdon')")),
        };
        self.pos += 1;
        let f = if with_days {
            self.expect(Tok::Comma, "','")?;
            let n = self
                .peek_word()
                .and_then(|w| w.strip_prefix("PropertyValue="))
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| (0..=36_500).contains(n))
                .ok_or_else(|| self.err_here("PropertyValue=<days>"))?;
            self.pos += 1;
            match name {
                "LastXDays" => DateFunc::LastXDays(n),
                "NextXDays" => DateFunc::NextXDays(n),
                _ => DateFunc::OlderThanXDays(n),
            }
        } else {
            match name {
                "Today" => DateFunc::Today,
                "Yesterday" => DateFunc::Yesterday,
                _ => DateFunc::Tomorrow,
            }
        };
        self.expect(Tok::RParen, "')'")?;
        Ok(Expr::Date(f, prop))
    }

    fn operand(&mut self) -> Result<Operand, ApiError> {
        let t = self.toks.get(self.pos).cloned();
        match t {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Operand::Lit(Lit::Str(s)))
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                classify(&w).map_err(|_| {
                    bad(format!(
                        "Syntax error in $filter '{}': '{}' is not a valid literal or column name.",
                        self.src, w
                    ))
                })
            }
            _ => Err(self.err_here("a column name or a literal")),
        }
    }
}

fn classify(w: &str) -> Result<Operand, ()> {
    match w {
        "null" => return Ok(Operand::Lit(Lit::Null)),
        "true" => return Ok(Operand::Lit(Lit::Bool(true))),
        "false" => return Ok(Operand::Lit(Lit::Bool(false))),
        _ => {}
    }
    if w.len() == 36 && w.as_bytes()[8] == b'-' {
        if let Ok(u) = Uuid::parse_str(w) {
            return Ok(Operand::Lit(Lit::Guid(u)));
        }
    }
    let first = w.chars().next().ok_or(())?;
    if first.is_ascii_digit() || first == '-' {
        if let Ok(i) = w.parse::<i64>() {
            return Ok(Operand::Lit(Lit::Int(i)));
        }
        if w.contains('T') || (w.len() == 10 && w.as_bytes().get(4) == Some(&b'-')) {
            return parse_datetime(w)
                .map(|d| Operand::Lit(Lit::DateTime(d)))
                .ok_or(());
        }
        let num = w.trim_end_matches(['m', 'M', 'd', 'D', 'f', 'F']);
        if let Ok(f) = num.parse::<f64>() {
            if f.is_finite() {
                return Ok(Operand::Lit(Lit::Num(f)));
            }
        }
        return Err(());
    }
    if crate::schema::is_ident(w) {
        Ok(Operand::Prop(w.to_string()))
    } else {
        Err(())
    }
}

/// Parses an OData date-time or date literal into the stored UTC form.
pub fn parse_datetime(w: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    if w.len() == 10 {
        let d =
            time::Date::parse(w, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
        return Some(crate::store::format_datetime(d.midnight().assume_utc()));
    }
    time::OffsetDateTime::parse(w, &Rfc3339)
        .ok()
        .map(crate::store::format_datetime)
}

/// What a property name in a query refers to.
#[derive(Debug, Clone, Copy)]
pub enum Prop {
    Key,
    Col(usize),
}

pub fn resolve_prop(t: &Table, name: &str) -> Result<(Prop, AttrType), ApiError> {
    if name == t.primary_id {
        return Ok((Prop::Key, AttrType::Uniqueidentifier));
    }
    if let Some((i, c)) = t
        .columns
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == name && !c.ty.is_lookup())
    {
        return Ok((Prop::Col(i), c.ty));
    }
    if let Some(c) = t.lookup_by_value_name(name) {
        let i = t.columns.iter().position(|x| x.name == c.name).unwrap_or(0);
        return Ok((Prop::Col(i), c.ty));
    }
    Err(ApiError::bad_request(
        "0x80060888",
        format!(
            "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{}'.",
            t.logical_name
        ),
    ))
}

pub fn prop_sql(t: &Table, p: Prop) -> String {
    match p {
        Prop::Key => "id".into(),
        Prop::Col(i) => format!("c_{}", t.columns[i].name),
    }
}

fn incompatible(ty: AttrType, lit: &Lit, op: &str) -> ApiError {
    let found = match lit {
        Lit::Null => "null",
        Lit::Bool(_) => "Edm.Boolean",
        Lit::Int(_) => "Edm.Int32",
        Lit::Num(_) => "Edm.Decimal",
        Lit::Str(_) => "Edm.String",
        Lit::Guid(_) => "Edm.Guid",
        Lit::DateTime(_) => "Edm.DateTimeOffset",
    };
    bad(format!(
        "A binary operator with incompatible types was detected. Found operand types '{}' and '{}' for operator kind '{}'.",
        ty.edm(),
        found,
        op
    ))
}

/// The SQL value of a literal compared with a column of type `ty`.
pub fn lit_value(ty: AttrType, lit: &Lit, op: &str) -> Result<Value, ApiError> {
    Ok(match (lit, ty) {
        (Lit::Null, _) => Value::Null,
        (Lit::Str(s), t) if t.is_text() => Value::Text(s.clone()),
        (Lit::Int(i), t) if t.is_integer() || t.is_float() => Value::Integer(*i),
        (Lit::Num(f), t) if t.is_float() || t.is_integer() => Value::Real(*f),
        (Lit::Bool(b), AttrType::Boolean) => Value::Integer(*b as i64),
        (Lit::Guid(u), t) if t == AttrType::Uniqueidentifier || t.is_lookup() => {
            Value::Text(u.to_string())
        }
        (Lit::DateTime(d), AttrType::DateTime) => Value::Text(d.clone()),
        _ => return Err(incompatible(ty, lit, op)),
    })
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Eq => "Equal",
        Op::Ne => "NotEqual",
        Op::Gt => "GreaterThan",
        Op::Ge => "GreaterThanOrEqual",
        Op::Lt => "LessThan",
        Op::Le => "LessThanOrEqual",
    }
}

fn like_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Compiles to a SQL boolean that is never NULL (so `not` follows OData's
/// two-valued logic: `null ne 'x'` is true).
pub fn to_sql(t: &Table, e: &Expr, params: &mut Vec<Value>) -> Result<String, ApiError> {
    Ok(match e {
        Expr::And(a, b) => format!("({} AND {})", to_sql(t, a, params)?, to_sql(t, b, params)?),
        Expr::Or(a, b) => format!("({} OR {})", to_sql(t, a, params)?, to_sql(t, b, params)?),
        Expr::Not(a) => format!("(NOT {})", to_sql(t, a, params)?),
        Expr::Cmp(p, op, lit) => {
            let (prop, ty) = resolve_prop(t, p)?;
            let col = prop_sql(t, prop);
            let v = lit_value(ty, lit, op_name(*op))?;
            if v == Value::Null {
                match op {
                    Op::Eq => format!("({col} IS NULL)"),
                    Op::Ne => format!("({col} IS NOT NULL)"),
                    _ => "(0)".into(),
                }
            } else {
                params.push(v);
                let n = params.len();
                let sop = match op {
                    Op::Eq => "=",
                    Op::Ne => "<>",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                    Op::Lt => "<",
                    Op::Le => "<=",
                };
                if *op == Op::Ne {
                    format!("({col} {sop} ?{n} OR {col} IS NULL)")
                } else {
                    format!("({col} {sop} ?{n} AND {col} IS NOT NULL)")
                }
            }
        }
        Expr::Func(f, p, s) => {
            let (prop, ty) = resolve_prop(t, p)?;
            if !ty.is_text() {
                return Err(bad(format!(
                    "The function is only valid on text columns; '{p}' is {}.",
                    ty.edm()
                )));
            }
            let col = prop_sql(t, prop);
            let pat = match f {
                Func::Contains => format!("%{}%", like_escape(s)),
                Func::StartsWith => format!("{}%", like_escape(s)),
                Func::EndsWith => format!("%{}", like_escape(s)),
            };
            params.push(Value::Text(pat));
            format!(
                "({col} LIKE ?{} ESCAPE '\\' AND {col} IS NOT NULL)",
                params.len()
            )
        }
        Expr::Date(f, p) => {
            let (prop, ty) = resolve_prop(t, p)?;
            if ty != AttrType::DateTime {
                return Err(bad(format!(
                    "The query function is only valid on date columns; '{p}' is {}.",
                    ty.edm()
                )));
            }
            let col = prop_sql(t, prop);
            let (from, to) = date_range(*f, time::OffsetDateTime::now_utc());
            let mut parts = vec![format!("{col} IS NOT NULL")];
            if let Some(from) = from {
                params.push(Value::Text(from));
                parts.push(format!("{col} >= ?{}", params.len()));
            }
            if let Some(to) = to {
                params.push(Value::Text(to));
                parts.push(format!("{col} < ?{}", params.len()));
            }
            format!("({})", parts.join(" AND "))
        }
    })
}

/// Evaluates over a JSON object (metadata `$filter`). Missing properties are null.
pub fn eval_json(
    e: &Expr,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<bool, ApiError> {
    use serde_json::Value as J;
    Ok(match e {
        Expr::And(a, b) => eval_json(a, obj)? && eval_json(b, obj)?,
        Expr::Or(a, b) => eval_json(a, obj)? || eval_json(b, obj)?,
        Expr::Not(a) => !eval_json(a, obj)?,
        Expr::Cmp(p, op, lit) => {
            let v = obj.get(p).unwrap_or(&J::Null);
            let ord = match (v, lit) {
                (J::Null, Lit::Null) => Some(std::cmp::Ordering::Equal),
                (J::Null, _) | (_, Lit::Null) => None,
                (J::String(a), Lit::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
                (J::String(a), Lit::Guid(b)) => Some(a.cmp(&b.to_string())),
                (J::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
                (J::Number(a), Lit::Int(b)) => a.as_f64().and_then(|a| a.partial_cmp(&(*b as f64))),
                (J::Number(a), Lit::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
                _ => return Err(bad(format!("Incompatible types comparing '{p}'."))),
            };
            use std::cmp::Ordering::*;
            match (op, ord) {
                (Op::Eq, Some(o)) => o == Equal,
                (Op::Ne, Some(o)) => o != Equal,
                (Op::Ne, None) => true,
                (Op::Gt, Some(o)) => o == Greater,
                (Op::Ge, Some(o)) => o != Less,
                (Op::Lt, Some(o)) => o == Less,
                (Op::Le, Some(o)) => o != Greater,
                (_, None) => false,
            }
        }
        Expr::Func(f, p, s) => match obj.get(p) {
            Some(J::String(v)) => {
                let (v, s) = (v.to_lowercase(), s.to_lowercase());
                match f {
                    Func::Contains => v.contains(&s),
                    Func::StartsWith => v.starts_with(&s),
                    Func::EndsWith => v.ends_with(&s),
                }
            }
            _ => false,
        },
        Expr::Date(f, p) => match obj.get(p) {
            Some(J::String(v)) => match parse_datetime(v) {
                Some(v) => {
                    let (from, to) = date_range(*f, time::OffsetDateTime::now_utc());
                    from.is_none_or(|f| v >= f) && to.is_none_or(|t| v < t)
                }
                None => false,
            },
            _ => false,
        },
    })
}

/// `$orderby=name desc,createdon` -> [(name, desc), (createdon, asc)].
pub fn parse_orderby(s: &str) -> Result<Vec<(String, bool)>, ApiError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (name, desc) = match words.as_slice() {
            [n] => (*n, false),
            [n, "asc"] => (*n, false),
            [n, "desc"] => (*n, true),
            _ => {
                return Err(bad(format!(
                    "Syntax error in $orderby '{s}': expected 'column [asc|desc]' but found '{}'.",
                    part.trim()
                )));
            }
        };
        if !crate::schema::is_ident(name) {
            return Err(bad(format!(
                "Syntax error in $orderby '{s}': '{name}' is not a column name."
            )));
        }
        out.push((name.to_string(), desc));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_and_literals() {
        let e = parse_filter(
            "not (name eq 'O''Brien') or revenue gt 10.5 and createdon ge 2026-01-02T03:04:05Z",
        )
        .unwrap();
        let s = format!("{e:?}");
        assert!(s.starts_with("Or(Not("), "{s}");
        assert!(s.contains("Str(\"O'Brien\")"), "{s}");
        assert!(s.contains("DateTime(\"2026-01-02T03:04:05Z\")"), "{s}");
        let e = parse_filter("_parentcustomerid_value eq 3f2504e0-4f89-41d3-9a0c-0305e82c3301")
            .unwrap();
        assert!(matches!(e, Expr::Cmp(_, Op::Eq, Lit::Guid(_))));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "name eq",
            "(name eq 'a'",
            "name eq 'a' )",
            "name foo 'x'",
            "eq eq eq",
            "name eq 'x",
            "contains(name)",
            "",
        ] {
            assert!(parse_filter(s).is_err(), "{s} should fail");
        }
    }
}
