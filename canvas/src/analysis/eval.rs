//! The walk: every expression gets an abstract value, and every table,
//! column and row read along the way is noted (on the recording pass).

use std::collections::BTreeMap;

use super::explain::WarningKind;
use super::names::lookup_target;
use super::rows::{Cond, odata_text};
use super::{Analyzer, Global};
use crate::fx::{BinOp, Expr, ExprKind, UnOp};
use crate::source::DataSource;

/// What an expression stands for, as far as the profile cares.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Unknown,
    /// Something only the running app knows: a control's state, a variable.
    Runtime(String),
    /// Rows of a table (a table, a filtered table, a collection of them).
    Rows(usize),
    /// One record of a table.
    Rec(usize),
    /// A column of a table; `via` is the lookup it was reached through.
    Column {
        table: usize,
        column: String,
        via: Option<(usize, String)>,
    },
    /// A record or context built by the app (`{a: 1}`, `UpdateContext`).
    Fields(BTreeMap<String, Val>),
    List(Vec<Val>),
    Text(String),
    Number(String),
    Bool(bool),
    /// `User()` and its fields.
    User,
    UserField(String),
    Control(usize),
    /// `'Status (Tasks)'` and `'Status (Tasks)'.Open`.
    Choices(usize),
    Choice(usize, String),
    /// `'Timesheets (Views)'` and one of its views.
    Views(usize),
    View(usize, String),
    /// `Today()`/`Now()` plus a number of days.
    Today(i64),
    Connector(String),
}

pub enum Frame {
    /// A row scope (`Filter(T, …)`, `ForAll(… As x, …)`).
    Row { val: Val, alias: Option<String> },
    /// Names bound by `With`.
    Names(BTreeMap<String, Val>),
}

impl Val {
    fn table(&self) -> Option<usize> {
        match self {
            Val::Rows(t) | Val::Rec(t) => Some(*t),
            _ => None,
        }
    }

    fn as_rec(&self) -> Val {
        match self {
            Val::Rows(t) | Val::Rec(t) => Val::Rec(*t),
            Val::Fields(_) => self.clone(),
            Val::List(v) => v.first().map(Val::as_rec).unwrap_or(Val::Unknown),
            _ => Val::Unknown,
        }
    }

    fn as_rows(&self) -> Val {
        match self {
            Val::Rows(t) | Val::Rec(t) => Val::Rows(*t),
            _ => self.clone(),
        }
    }

    /// Two values one variable (or one `If`) may hold. Rows of a table
    /// win (the data flow the profile follows); two different constants
    /// are no constant at all.
    fn merge(self, other: Val) -> Val {
        match (self, other) {
            (a, b) if a == b => a,
            (a @ (Val::Rows(_) | Val::Rec(_)), _) | (_, a @ (Val::Rows(_) | Val::Rec(_))) => a,
            (Val::Fields(mut a), Val::Fields(b)) => {
                for (k, v) in b {
                    let merged = match a.remove(&k) {
                        Some(old) => old.merge(v),
                        None => v,
                    };
                    a.insert(k, merged);
                }
                Val::Fields(a)
            }
            _ => Val::Unknown,
        }
    }
}

/// Functions whose first argument is a table and whose other arguments
/// see its row.
const ROW_SCOPED: [&str; 27] = [
    "Filter",
    "LookUp",
    "Search",
    "Sort",
    "SortByColumns",
    "AddColumns",
    "ShowColumns",
    "DropColumns",
    "RenameColumns",
    "ForAll",
    "CountRows",
    "CountA",
    "CountIf",
    "Sum",
    "Average",
    "Max",
    "Min",
    "StdevP",
    "VarP",
    "Concat",
    "Distinct",
    "First",
    "Last",
    "FirstN",
    "LastN",
    "GroupBy",
    "Shuffle",
];

impl Analyzer<'_> {
    pub(super) fn eval_property(&mut self, c: usize, p: usize, expr: &Expr) -> Val {
        self.frames.clear();
        self.this_item = self.this_item_of(c);
        let name = &self.app.controls[c].properties[p].name;
        // A form's DataSource names the table its cards edit; the rows it
        // shows come from its Item (a gallery's selection, usually).
        let v = if name == "DataSource" {
            let (v, _, direct) = self.source(expr);
            if let Some(t) = direct {
                self.note_table(t, expr, false);
            }
            v
        } else {
            self.eval(expr)
        };
        let name = self.app.controls[c].properties[p].name.clone();
        let bound = self.items[c].table().or(self.this_item.table());
        match (name.as_str(), &v, bound) {
            // A form card's logical column name.
            ("DataField", Val::Text(col), Some(t)) => {
                let t = self.this_item.table().unwrap_or(t);
                self.column_by_string(t, col, expr);
            }
            ("DisplayFields" | "SearchFields", Val::List(items), _) => {
                if let Some(t) = self.items[c].table() {
                    for i in items.clone() {
                        if let Val::Text(col) = i {
                            self.column_by_string(t, &col, expr);
                        }
                    }
                }
            }
            _ => {}
        }
        if self.app.controls[c].code_component {
            if let Some(t) = v.table() {
                let msg = format!(
                    "code component {} is bound to table {}: the columns it shows are not in any formula, so the profile may lack them",
                    self.app.controls[c].name, self.tables[t].ds.name
                );
                self.warn(WarningKind::CodeComponent, msg, Some(expr));
            }
        }
        v
    }

    /// The record `ThisItem` means in control `c`: the item of the nearest
    /// control (itself or an ancestor) bound to a table.
    fn this_item_of(&self, c: usize) -> Val {
        let mut cur = Some(c);
        while let Some(i) = cur {
            let v = self.items[i].as_rec();
            if v != Val::Unknown {
                return v;
            }
            cur = self.app.controls[i].parent;
        }
        Val::Unknown
    }

    fn table_named(&self, name: &str) -> Option<usize> {
        match self.globals_index.get(name) {
            Some(Global::Table(i)) => Some(*i),
            _ => None,
        }
    }

    fn column_by_string(&mut self, t: usize, col: &str, at: &Expr) {
        match self.tables[t].column(col) {
            Some(l) => self.note_column(t, &l, at),
            None => {
                let msg = format!("table {} has no column {col:?}", self.tables[t].ds.name);
                self.warn(WarningKind::Unresolved, msg, Some(at));
            }
        }
    }

    pub(super) fn eval(&mut self, e: &Expr) -> Val {
        match &e.kind {
            ExprKind::Blank => Val::Unknown,
            ExprKind::Text(s) => Val::Text(s.clone()),
            ExprKind::Number(n) => Val::Number(n.clone()),
            ExprKind::Bool(b) => Val::Bool(*b),
            ExprKind::Interpolated(parts) | ExprKind::Chain(parts) => {
                let mut last = Val::Unknown;
                for p in parts {
                    last = self.eval(p);
                }
                if matches!(e.kind, ExprKind::Chain(_)) {
                    last
                } else {
                    Val::Unknown
                }
            }
            ExprKind::Name(n) => self.name(n, e, true),
            ExprKind::Disambiguated { scope: None, name } => self.name(name, e, false),
            ExprKind::Disambiguated {
                scope: Some(s),
                name,
            } => {
                let v = self.eval(s);
                self.dot(v, name, e)
            }
            ExprKind::Dot(a, f) => {
                let v = self.eval(a);
                self.dot(v, f, e)
            }
            ExprKind::Call {
                namespace,
                name,
                args,
            } => self.call(namespace.as_deref(), name, args, e),
            ExprKind::Record(fields) => {
                let mut m = BTreeMap::new();
                for (k, v) in fields {
                    let v = self.eval(v);
                    m.insert(k.clone(), v);
                }
                Val::Fields(m)
            }
            ExprKind::Table(items) => Val::List(items.iter().map(|i| self.eval(i)).collect()),
            ExprKind::Unary(op, x) => {
                let v = self.eval(x);
                match (op, v) {
                    (UnOp::Neg, Val::Number(n)) => Val::Number(format!("-{n}")),
                    _ => Val::Unknown,
                }
            }
            ExprKind::Binary(op, a, b) => {
                let va = self.eval(a);
                let vb = self.eval(b);
                match (op, va, vb) {
                    (BinOp::Add, Val::Today(d), Val::Number(n))
                    | (BinOp::Add, Val::Number(n), Val::Today(d)) => {
                        days(&n).map_or(Val::Unknown, |n| Val::Today(d + n))
                    }
                    (BinOp::Sub, Val::Today(d), Val::Number(n)) => {
                        days(&n).map_or(Val::Unknown, |n| Val::Today(d - n))
                    }
                    _ => Val::Unknown,
                }
            }
            ExprKind::As(inner, _) => self.eval(inner),
        }
    }

    /// A bare name: row scopes and `With` names first, then `ThisItem`,
    /// the app's tables, choices, views, controls, variables, named formulas.
    fn name(&mut self, n: &str, e: &Expr, scoped: bool) -> Val {
        if scoped {
            if let Some(v) = self.scoped_name(n, e) {
                return v;
            }
        }
        match n {
            "ThisItem" | "ThisRecord" => return self.this_item.clone(),
            "Self" | "Parent" => return Val::Runtime(format!("{n} (a control)")),
            _ => {}
        }
        // A collection Studio declared is not among the globals: its value
        // is what the app put in (the variables below).
        match self.globals_index.get(n).copied() {
            Some(Global::Table(t)) => {
                if self.recording {
                    let why = Cond::All(format!("the formula reads the whole table {n}"));
                    self.note_rows(t, e, why);
                }
                return Val::Rows(t);
            }
            Some(Global::Connector(i)) => {
                let name = self.app.data_sources[i].name().to_string();
                self.connector(&name, e);
                return Val::Connector(name);
            }
            Some(Global::Choices(i)) => return Val::Choices(i),
            Some(Global::Views(i)) => return Val::Views(i),
            Some(Global::Control(i)) => return Val::Control(i),
            None => {}
        }
        if let Some(v) = self.globals.get(n) {
            return match v {
                Val::Unknown => Val::Runtime(format!("variable {n}")),
                v => v.clone(),
            };
        }
        if let Some((expr, at)) = self.named.get(n).cloned() {
            if self.named_stack.iter().any(|x| x == n) || self.named_stack.len() > 20 {
                return Val::Unknown;
            }
            // Evaluated where it is written: its own scope and position.
            self.named_stack.push(n.to_string());
            let frames = std::mem::take(&mut self.frames);
            let item = std::mem::replace(&mut self.this_item, Val::Unknown);
            let here = self.here.replace(at);
            let v = self.eval(&expr);
            self.here = here;
            self.this_item = item;
            self.frames = frames;
            self.named_stack.pop();
            return v;
        }
        Val::Unknown
    }

    fn scoped_name(&mut self, n: &str, e: &Expr) -> Option<Val> {
        for i in (0..self.frames.len()).rev() {
            match &self.frames[i] {
                Frame::Names(m) => {
                    if let Some(v) = m.get(n) {
                        return Some(v.clone());
                    }
                }
                Frame::Row { val, alias } => {
                    if alias.as_deref() == Some(n) {
                        return Some(val.clone());
                    }
                    if alias.is_none() && n == "ThisRecord" {
                        return Some(val.clone());
                    }
                    match val.clone() {
                        Val::Rec(t) => {
                            if let Some(col) = self.tables[t].column(n) {
                                // A name that is also a table keeps its
                                // table meaning unless it is a column here.
                                self.note_column(t, &col, e);
                                return Some(Val::Column {
                                    table: t,
                                    column: col,
                                    via: None,
                                });
                            }
                        }
                        Val::Fields(m) => {
                            if let Some(v) = m.get(n) {
                                return Some(v.clone());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }

    fn connector(&mut self, name: &str, e: &Expr) {
        let msg = format!(
            "connector {name} is not Dataverse: offline, its calls fail (Dataverse offline supports Dataverse tables only)"
        );
        self.warn(WarningKind::NonDataverseConnector, msg, Some(e));
    }

    fn dot(&mut self, v: Val, f: &str, e: &Expr) -> Val {
        match v {
            Val::Rows(t) | Val::Rec(t) => self.field(t, f, e, None),
            Val::Column { table, column, .. } => {
                match lookup_target(&self.tables, table, &column, f) {
                    Some(target) => {
                        self.note_reached(target, e);
                        self.field(target, f, e, Some((table, column)))
                    }
                    None => {
                        if f != "Value" {
                            let msg = format!(
                                "{}.{column} is read as a lookup (.{f}) but the table it points at is not among the app's data sources (give --server to read it)",
                                self.tables[table].ds.name
                            );
                            self.warn(WarningKind::Unresolved, msg, Some(e));
                        }
                        Val::Unknown
                    }
                }
            }
            Val::Fields(m) => m.get(f).cloned().unwrap_or(Val::Unknown),
            Val::User => Val::UserField(f.to_string()),
            Val::Control(i) => {
                let items = self.items[i].clone();
                match f {
                    "Selected" | "LastSubmit" | "Updates" | "Item" => match items.as_rec() {
                        Val::Unknown => {
                            Val::Runtime(format!("control {}.{f}", self.app.controls[i].name))
                        }
                        v => v,
                    },
                    "AllItems" | "SelectedItems" => items.as_rows(),
                    _ => Val::Runtime(format!("control {}.{f}", self.app.controls[i].name)),
                }
            }
            Val::Choices(i) => Val::Choice(i, f.to_string()),
            Val::Views(i) => Val::View(i, f.to_string()),
            Val::Runtime(d) => Val::Runtime(d),
            _ => Val::Unknown,
        }
    }

    /// Field `f` of a record of table `t`: a column, or a relationship.
    fn field(&mut self, t: usize, f: &str, e: &Expr, via: Option<(usize, String)>) -> Val {
        if let Some(col) = self.tables[t].column(f) {
            self.note_column(t, &col, e);
            return Val::Column {
                table: t,
                column: col,
                via,
            };
        }
        if let Some(nav) = self.tables[t].navigation(f) {
            if nav.to_ascii_lowercase().ends_with("_association") {
                let msg = format!(
                    "{}.{f} is a many-to-many relationship ({nav}): Dataverse offline has no many-to-many relationships, so it is not in the profile",
                    self.tables[t].ds.name
                );
                self.warn(WarningKind::UnsupportedOffline, msg, Some(e));
            }
            let display = f.split(" (").next().unwrap_or(f);
            if let Some(target) = self.table_named(display) {
                self.note_rows(
                    target,
                    e,
                    Cond::All(format!(
                        "read through the relationship {f} of {}",
                        self.tables[t].ds.name
                    )),
                );
                return Val::Rows(target);
            }
            return Val::Unknown;
        }
        // `Value` (choices), `IsSelected` (a gallery's item) and columns
        // the app adds with AddColumns are not the table's.
        if f != "Value" && f != "IsSelected" && !self.added.contains(f) {
            let msg = if self.tables[t].ds.columns.is_empty() {
                format!(
                    "'{f}' of table {} looks like a display name, and the source maps none (YAML v3): give --server to resolve it",
                    self.tables[t].ds.name
                )
            } else {
                format!("table {} has no column '{f}'", self.tables[t].ds.name)
            };
            self.warn(WarningKind::Unresolved, msg, Some(e));
        }
        Val::Unknown
    }

    /// The first argument of a table function: a table named directly
    /// (whose row reads the caller decides), or any other value.
    fn source(&mut self, arg: &Expr) -> (Val, Option<String>, Option<usize>) {
        match &arg.kind {
            ExprKind::As(inner, alias) => {
                let (v, _, direct) = self.source(inner);
                (v, Some(alias.clone()), direct)
            }
            ExprKind::Name(n)
            | ExprKind::Disambiguated {
                scope: None,
                name: n,
            } => {
                let shadowed = matches!(arg.kind, ExprKind::Name(_))
                    && self.frames.iter().any(|f| match f {
                        Frame::Names(m) => m.contains_key(n),
                        Frame::Row { alias, .. } => alias.as_deref() == Some(n),
                    });
                match self.table_named(n) {
                    Some(t) if !shadowed => (Val::Rows(t), None, Some(t)),
                    _ => (self.eval(arg), None, None),
                }
            }
            _ => (self.eval(arg), None, None),
        }
    }

    fn with_row<T>(
        &mut self,
        val: Val,
        alias: Option<String>,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.frames.push(Frame::Row {
            val: val.as_rec(),
            alias,
        });
        let r = f(self);
        self.frames.pop();
        r
    }

    fn eval_all(&mut self, args: &[Expr]) {
        for a in args {
            self.eval(a);
        }
    }

    fn call(&mut self, ns: Option<&str>, name: &str, args: &[Expr], e: &Expr) -> Val {
        if let Some(ns) = ns {
            let first = ns.split('.').next().unwrap_or(ns);
            let is_connector = self
                .app
                .data_sources
                .iter()
                .any(|d| matches!(d, DataSource::Connector { name, .. } if name == first));
            self.eval_all(args);
            if is_connector {
                self.connector(first, e);
                return Val::Runtime(format!("connector {first}"));
            }
            return Val::Unknown;
        }
        if ROW_SCOPED.contains(&name) && !args.is_empty() {
            return self.row_scoped(name, args, e);
        }
        match name {
            "User" => Val::User,
            "Today" | "Now" => Val::Today(0),
            "DateAdd" => {
                let base = args.first().map(|a| self.eval(a)).unwrap_or(Val::Unknown);
                let n = args.get(1).map(|a| self.eval(a)).unwrap_or(Val::Unknown);
                let in_days = args.get(2).is_none_or(|u| {
                    matches!(&u.kind, ExprKind::Dot(_, d) if d == "Days")
                        || matches!(&u.kind, ExprKind::Text(d) if d == "Days")
                });
                match (base, n) {
                    (Val::Today(d), Val::Number(n)) if in_days => {
                        days(&n).map_or(Val::Unknown, |n| Val::Today(d + n))
                    }
                    _ => Val::Unknown,
                }
            }
            "With" => {
                let rec = args.first().map(|a| self.eval(a)).unwrap_or(Val::Unknown);
                let Some(body) = args.get(1) else {
                    return Val::Unknown;
                };
                match rec {
                    Val::Fields(m) => {
                        self.frames.push(Frame::Names(m));
                        let v = self.eval(body);
                        self.frames.pop();
                        v
                    }
                    other => self.with_row(other, None, |a| a.eval(body)),
                }
            }
            "Set" => {
                if let (Some(var), Some(v)) = (args.first(), args.get(1)) {
                    let v = self.eval(v);
                    if let ExprKind::Name(n) = &var.kind {
                        self.assign(n, v);
                    }
                }
                Val::Unknown
            }
            "UpdateContext" => {
                if let Some(Val::Fields(m)) = args.first().map(|a| self.eval(a)) {
                    for (k, v) in m {
                        self.assign(&k, v);
                    }
                }
                Val::Unknown
            }
            "Navigate" => {
                self.eval_all(args);
                if let Some(Val::Fields(m)) = args.get(2).map(|a| self.eval(a)) {
                    for (k, v) in m {
                        self.assign(&k, v);
                    }
                }
                Val::Unknown
            }
            "ClearCollect" | "Collect" => {
                let Some(target) = args.first() else {
                    return Val::Unknown;
                };
                let (tv, _, direct) = self.source(target);
                let mut merged: Option<Val> = None;
                for a in &args[1..] {
                    let v = self.eval(a);
                    if let Some(t) = direct {
                        self.write_fields(t, &v, a, true);
                    }
                    let v = v.as_rows();
                    merged = Some(match merged {
                        None => v,
                        Some(m) => m.merge(v),
                    });
                }
                let merged = merged.unwrap_or(Val::Unknown);
                match direct {
                    Some(t) => {
                        self.note_table(t, e, true);
                        Val::Rows(t)
                    }
                    None => {
                        if let ExprKind::Name(n) = &target.kind {
                            self.assign(n, merged.clone());
                        }
                        match tv {
                            Val::Rows(_) => tv,
                            _ => merged,
                        }
                    }
                }
            }
            "Patch" | "Remove" | "RemoveIf" | "UpdateIf" => {
                let Some(target) = args.first() else {
                    return Val::Unknown;
                };
                let (tv, _, direct) = self.source(target);
                if let Some(t) = direct {
                    self.note_table(t, e, true);
                }
                let scoped = matches!(name, "RemoveIf" | "UpdateIf");
                for a in &args[1..] {
                    let v = if scoped {
                        self.with_row(tv.clone(), None, |s| s.eval(a))
                    } else {
                        self.eval(a)
                    };
                    if let Some(t) = tv.table() {
                        if name != "Remove" {
                            self.write_fields(t, &v, a, direct.is_some());
                        }
                    }
                }
                tv.as_rec()
            }
            "Defaults" => {
                let (v, _, _) = match args.first() {
                    Some(a) => self.source(a),
                    None => (Val::Unknown, None, None),
                };
                v.as_rec()
            }
            "Refresh" => {
                if let Some(a) = args.first() {
                    let (_, _, direct) = self.source(a);
                    if let Some(t) = direct {
                        self.note_table(t, e, false);
                    }
                }
                Val::Unknown
            }
            "SubmitForm" => {
                if let Some(Val::Control(i)) = args.first().map(|a| self.eval(a)) {
                    if let Some(t) = self.items[i].table() {
                        self.note_table(t, e, true);
                    }
                }
                Val::Unknown
            }
            "DataSourceInfo" => {
                let (v, _, _) = match args.first() {
                    Some(a) => self.source(a),
                    None => (Val::Unknown, None, None),
                };
                self.eval_all(args.get(1..).unwrap_or_default());
                if let (Some(t), Some(ExprKind::Text(col))) =
                    (v.table(), args.get(2).map(|a| &a.kind))
                {
                    self.column_by_string(t, col, &args[2]);
                }
                Val::Unknown
            }
            "Relate" | "Unrelate" => {
                // Not evaluated: the relationship is changed, no row read.
                let msg = format!(
                    "{name} is not supported offline (Dataverse offline limitation): this change needs a connection"
                );
                self.warn(WarningKind::UnsupportedOffline, msg, Some(e));
                Val::Unknown
            }
            "If" | "Switch" | "Coalesce" | "IfError" => {
                let mut out: Option<Val> = None;
                for (i, a) in args.iter().enumerate() {
                    let v = self.eval(a);
                    let is_result = match name {
                        "If" => i % 2 == 1 || i + 1 == args.len(),
                        "Switch" => i >= 2 && (i % 2 == 0 || i + 1 == args.len()),
                        _ => true,
                    };
                    if is_result {
                        out = Some(match out {
                            None => v,
                            Some(o) => o.merge(v),
                        });
                    }
                }
                out.unwrap_or(Val::Unknown)
            }
            _ => {
                self.eval_all(args);
                Val::Unknown
            }
        }
    }

    fn assign(&mut self, n: &str, v: Val) {
        let merged = match self.globals.remove(n) {
            Some(old) => old.merge(v),
            None => v,
        };
        self.globals.insert(n.to_string(), merged);
    }

    /// The fields of a record written to table `t` are its columns. Into a
    /// table named directly an unknown field is reported; into a collection
    /// of the table's rows it is the collection's own.
    fn write_fields(&mut self, t: usize, v: &Val, at: &Expr, direct: bool) {
        let Val::Fields(m) = v else { return };
        for k in m.keys() {
            match self.tables[t].column(k) {
                Some(col) => self.note_column(t, &col, at),
                None if direct => {
                    let msg = format!(
                        "the record written to {} names no column '{k}' of it",
                        self.tables[t].ds.name
                    );
                    self.warn(WarningKind::Unresolved, msg, Some(at));
                }
                None => {}
            }
        }
    }

    fn row_scoped(&mut self, name: &str, args: &[Expr], e: &Expr) -> Val {
        let (src, alias, direct) = self.source(&args[0]);
        let rest = &args[1..];
        let t = src.table();
        let result = self.with_row(src.clone(), alias, |a| match name {
            "Filter" => {
                let mut cond: Option<Cond> = None;
                for p in rest {
                    let c = a.predicate(p, t);
                    cond = Some(match cond {
                        None => c,
                        Some(x) => x.and(c),
                    });
                }
                (src.as_rows(), cond)
            }
            "LookUp" => {
                let cond = rest.first().map(|p| a.predicate(p, t));
                let proj = rest.get(1).map(|p| a.eval(p));
                (proj.unwrap_or_else(|| src.as_rec()), cond)
            }
            "Search" => {
                // The text is the app's, the rest are logical column names.
                for (i, c) in rest.iter().enumerate() {
                    if i == 0 {
                        a.frames_outer_eval(c);
                    } else if let (ExprKind::Text(col), Some(t)) = (&c.kind, t) {
                        a.column_by_string(t, col, c);
                    } else {
                        a.eval(c);
                    }
                }
                (
                    src.as_rows(),
                    Some(Cond::All("Search: the text typed by the user decides the rows".into())),
                )
            }
            "SortByColumns" | "ShowColumns" | "DropColumns" | "RenameColumns" => {
                for (i, c) in rest.iter().enumerate() {
                    let names_column = match name {
                        "SortByColumns" | "RenameColumns" => i % 2 == 0,
                        _ => true,
                    };
                    match (&c.kind, t) {
                        (ExprKind::Text(col), Some(t)) if names_column => {
                            a.column_by_string(t, col, c)
                        }
                        _ => {
                            let v = a.eval(c);
                            if names_column && name == "SortByColumns" {
                                if let Val::Runtime(d) = v {
                                    let msg = format!(
                                        "SortByColumns sorts by a column held in {d}: which column cannot be known, none added"
                                    );
                                    a.warn(WarningKind::Unresolved, msg, Some(c));
                                }
                            }
                        }
                    }
                }
                (src.as_rows(), None)
            }
            "AddColumns" => {
                for (i, c) in rest.iter().enumerate() {
                    match (&c.kind, i % 2) {
                        // The added column's name: the app's own field.
                        (ExprKind::Text(n) | ExprKind::Name(n), 0) => {
                            a.added.insert(n.clone());
                        }
                        _ => {
                            a.eval(c);
                        }
                    }
                }
                (src.as_rows(), None)
            }
            _ => {
                for c in rest {
                    a.eval(c);
                }
                let v = match name {
                    "First" | "Last" => src.as_rec(),
                    "FirstN" | "LastN" | "Shuffle" | "Sort" => src.as_rows(),
                    // Distinct makes a new one-column table (Value/Result).
                    _ => Val::Unknown,
                };
                (v, None)
            }
        });
        if let Some(t) = direct {
            let cond = result.1.unwrap_or_else(|| {
                Cond::All(format!(
                    "{name}({}, …) reads every row",
                    self.tables[t].ds.name
                ))
            });
            self.note_rows(t, e, cond);
        }
        result.0
    }

    /// Evaluates outside the innermost row scope (Search's text argument).
    fn frames_outer_eval(&mut self, c: &Expr) {
        let top = self.frames.pop();
        self.eval(c);
        if let Some(f) = top {
            self.frames.push(f);
        }
    }

    /// What a predicate over the rows of table `t` needs (and the columns
    /// it names, noted by evaluating it).
    fn predicate(&mut self, p: &Expr, t: Option<usize>) -> Cond {
        let Some(t) = t else {
            self.eval(p);
            return Cond::All("not a table".into());
        };
        if let Some(x) = not_arg(p) {
            return match self.predicate(x, Some(t)) {
                Cond::Some {
                    owned: false,
                    filter: Some(f),
                    why,
                } => Cond::filter(format!("not ({f})"), format!("not: {why}")),
                _ => Cond::All("a negation of what the profile cannot express".into()),
            };
        }
        match &p.kind {
            ExprKind::Binary(BinOp::And, a, b) => {
                self.predicate(a, Some(t)).and(self.predicate(b, Some(t)))
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                self.predicate(a, Some(t)).or(self.predicate(b, Some(t)))
            }
            ExprKind::Call {
                namespace: None,
                name,
                args,
            } if (name == "And" || name == "Or") && !args.is_empty() => {
                let mut acc = self.predicate(&args[0], Some(t));
                for x in &args[1..] {
                    let c = self.predicate(x, Some(t));
                    acc = if name == "And" { acc.and(c) } else { acc.or(c) };
                }
                acc
            }
            ExprKind::Call {
                namespace: None,
                name,
                args,
            } if name == "IsBlank" && args.len() == 1 => match self.eval(&args[0]) {
                Val::Column {
                    table,
                    column,
                    via: None,
                } if table == t => Cond::filter(
                    format!("{column} eq null"),
                    format!("IsBlank({column}) is known on the device"),
                ),
                v => Cond::All(depends(&v, "IsBlank of a value the profile cannot compute")),
            },
            ExprKind::Binary(op, a, b) if op.is_comparison() => {
                let va = self.eval(a);
                let vb = self.eval(b);
                self.comparison(*op, va, vb, t)
            }
            _ => match self.eval(p) {
                Val::Column {
                    table,
                    column,
                    via: None,
                } if table == t => Cond::filter(
                    format!("{column} eq true"),
                    format!("the yes/no column {column}"),
                ),
                Val::View(set, view) => {
                    let id = self.app.views[set]
                        .views
                        .get(&view)
                        .cloned()
                        .unwrap_or_default();
                    Cond::All(format!(
                        "the view '{view}' (savedquery {id}): its filter is stored on the server, not in the app"
                    ))
                }
                v => Cond::All(depends(
                    &v,
                    "a condition the profile cannot compute without the app running",
                )),
            },
        }
    }

    fn comparison(&mut self, op: BinOp, va: Val, vb: Val, t: usize) -> Cond {
        let (col, via, other, op) = match (&va, &vb) {
            (Val::Column { table, column, via }, _)
                if *table == t || via.as_ref().is_some_and(|v| v.0 == t) =>
            {
                (column.clone(), via.clone(), vb, op)
            }
            (_, Val::Column { table, column, via })
                if *table == t || via.as_ref().is_some_and(|v| v.0 == t) =>
            {
                (column.clone(), via.clone(), va, flip(op))
            }
            _ => {
                let dep = if matches!(va, Val::Runtime(_)) {
                    va
                } else {
                    vb
                };
                return Cond::All(depends(&dep, "compares values the profile cannot compute"));
            }
        };
        if let Some((_, lookup)) = via {
            // One level through a lookup: the owner's (or creator's) fields
            // against the user's are rows of the user.
            return match (&other, lookup.as_str(), op) {
                (Val::UserField(_) | Val::User, "ownerid", BinOp::Eq) => {
                    Cond::owned(format!("{lookup}.{col} is the signed-in user's"))
                }
                (Val::UserField(_) | Val::User, _, BinOp::Eq) => Cond::All(format!(
                    "rows whose {lookup} is the user: the profile can keep the rows the user owns (ownerid), not these"
                )),
                _ => Cond::All(format!(
                    "a condition on {lookup}.{col}: filters through lookups are not kept"
                )),
            };
        }
        let sym = match op {
            BinOp::Eq => "eq",
            BinOp::Ne => "ne",
            BinOp::Lt => "lt",
            BinOp::Le => "le",
            BinOp::Gt => "gt",
            _ => "ge",
        };
        let lit = match other {
            Val::User if col == "ownerid" && op == BinOp::Eq => {
                return Cond::owned("Owner = User(): the rows the user owns".into());
            }
            Val::Text(s) => odata_text(&s),
            Val::Number(n) => n,
            Val::Bool(b) => b.to_string(),
            Val::Choice(set, label) => {
                let os = &self.app.option_sets[set];
                match os.options.get(&label) {
                    Some(v) if os.boolean => (v == "1").to_string(),
                    Some(v) => v.clone(),
                    None => {
                        return Cond::All(format!(
                            "the choice '{}'.{label} is not in the app's metadata",
                            os.display_name
                        ));
                    }
                }
            }
            Val::Today(d) => {
                return match (op, d) {
                    (BinOp::Eq, 0) => Cond::filter(
                        format!("Microsoft.Dynamics.CRM.Today(PropertyName='{col}')"),
                        format!("{col} is today"),
                    ),
                    (BinOp::Ge | BinOp::Gt, d) if d <= 0 => Cond::filter(
                        format!(
                            "not Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='{col}',PropertyValue={})",
                            -d
                        ),
                        format!(
                            "{col} within the last {} days or later (the window moves with each sync)",
                            -d
                        ),
                    ),
                    _ => Cond::All(format!(
                        "a date bound on {col} that the profile does not keep"
                    )),
                };
            }
            v => {
                return Cond::All(depends(
                    &v,
                    &format!("compares {col} with a value the profile cannot compute"),
                ));
            }
        };
        Cond::filter(
            format!("{col} {sym} {lit}"),
            format!("{col} {sym} {lit} is known on the device"),
        )
    }
}

fn not_arg(p: &Expr) -> Option<&Expr> {
    match &p.kind {
        ExprKind::Unary(UnOp::Not, x) => Some(x),
        ExprKind::Call {
            namespace: None,
            name,
            args,
        } if name == "Not" && args.len() == 1 => Some(&args[0]),
        _ => None,
    }
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        o => o,
    }
}

fn days(n: &str) -> Option<i64> {
    n.parse::<i64>().ok()
}

fn depends(v: &Val, otherwise: &str) -> String {
    match v {
        Val::Runtime(d) => format!("depends on {d}"),
        Val::UserField(f) => {
            format!("compares with the user's {f}: the profile cannot hold the user's own values")
        }
        Val::Connector(c) => format!("depends on connector {c}"),
        _ => otherwise.to_string(),
    }
}
