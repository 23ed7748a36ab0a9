//! From an app's formulas to the offline profile it needs: which tables it
//! reads and writes, which columns, which rows, and why (`explain.rs`).
//!
//! The walk (`eval.rs`) gives every expression an abstract value (rows of
//! a table, a record of one, a column, the user, a control, a choice…) so
//! data followed through `Set`, `UpdateContext`, collections, `With`, `As`,
//! named formulas and `Gallery.Selected` still lands on its table. It runs
//! over the whole app a few times so values assigned late (a collection
//! filled by a button) reach earlier formulas; only the last run records.
//! Row predicates become OData filters where the device can evaluate them
//! without the app's state (`rows.rs`); the rest keep every row, with the
//! reason. Pure logic: the source is already read, the server's schema (if
//! any) is given.

mod eval;
pub mod explain;
mod names;
mod rows;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use mooring_core::profile::{Schema, TableProfile};
use mooring_core::{Profile, Rows};

use crate::error::{CanvasError, Result};
use crate::fx::{self, Expr};
use crate::source::{App, DataSource, DataverseTable, Format, Property};
use explain::{
    ColumnExplanation, Explanation, RowReason, Site, TableExplanation, Warning, WarningKind,
};
pub use rows::Cond;

/// Passes over the app before the recording one (values assigned in one
/// formula reach formulas read earlier), at most: the walk stops warming
/// as soon as a pass leaves the state (variables, controls' items, added
/// columns) as it found it, since every later pass would too.
const WARM_PASSES: usize = 3;

/// Dataverse's documented limits for offline profiles.
const MAX_RELATIONSHIPS: usize = 15;
const MAX_IMAGE_COLUMNS: usize = 14;

/// One Dataverse table the app declares (or reaches through a lookup).
#[derive(Clone, Debug)]
pub struct Table {
    pub ds: DataverseTable,
    /// Display name → logical name (the first logical name in order when
    /// two share a display name): formulas name columns by display name
    /// at every turn, so this is a map, not a scan.
    by_display: HashMap<String, String>,
}

impl Table {
    pub fn new(ds: DataverseTable) -> Self {
        let mut by_display = HashMap::with_capacity(ds.columns.len());
        for (logical, display) in &ds.columns {
            by_display
                .entry(display.clone())
                .or_insert_with(|| logical.clone());
        }
        Table { ds, by_display }
    }
}

/// What a bare name in a formula is, looked up once per name instead of
/// scanning the app's lists: the first match in the order the walk
/// checks them (tables, connectors, choices, views, controls).
#[derive(Clone, Copy, Debug)]
enum Global {
    Table(usize),
    /// Index into `App::data_sources`.
    Connector(usize),
    Choices(usize),
    Views(usize),
    Control(usize),
}

fn global_names(app: &App, tables: &[Table]) -> HashMap<String, Global> {
    let mut m = HashMap::new();
    for (i, t) in tables.iter().enumerate() {
        m.entry(t.ds.name.clone()).or_insert(Global::Table(i));
    }
    for (i, d) in app.data_sources.iter().enumerate() {
        // Only the first data source of a name counts (as the scan did).
        if let DataSource::Connector { name, .. } = d {
            if app.data_sources.iter().position(|x| x.name() == name) == Some(i) {
                m.entry(name.clone()).or_insert(Global::Connector(i));
            }
        }
    }
    for (i, o) in app.option_sets.iter().enumerate() {
        m.entry(o.display_name.clone())
            .or_insert(Global::Choices(i));
    }
    for (i, v) in app.views.iter().enumerate() {
        m.entry(v.display_name.clone()).or_insert(Global::Views(i));
    }
    for (i, c) in app.controls.iter().enumerate() {
        m.entry(c.name.clone()).or_insert(Global::Control(i));
    }
    m
}

/// The analysis result: the profile and why.
#[derive(Clone, Debug)]
pub struct Generated {
    pub profile: Profile,
    pub explanation: Explanation,
}

#[derive(Default)]
struct Usage {
    read: bool,
    written: bool,
    reached: bool,
    because: BTreeSet<Site>,
    columns: BTreeMap<String, BTreeSet<Site>>,
    rows: Vec<(Site, Cond)>,
}

/// One parsed formula with its place.
struct Formula {
    control: usize,
    prop: usize,
    expr: Expr,
}

pub(crate) struct Analyzer<'a> {
    app: &'a App,
    tables: Vec<Table>,
    formulas: Vec<Formula>,
    /// Named formulas (`App.Formulas`) and where they are written.
    named: HashMap<String, (Rc<Expr>, (usize, usize))>,
    /// Bare names of the app (tables, connectors, choices, views, controls).
    globals_index: HashMap<String, Global>,
    /// Set/Collect/UpdateContext targets → value.
    globals: BTreeMap<String, eval::Val>,
    /// Each control's `Items`/`DataSource` value.
    items: Vec<eval::Val>,
    recording: bool,
    usage: Vec<Usage>,
    warnings: BTreeSet<Warning>,
    /// The formula being walked.
    here: Option<(usize, usize)>,
    /// Row scopes and `With` names of the expression being walked.
    frames: Vec<eval::Frame>,
    /// What `ThisItem` is in the control being walked.
    this_item: eval::Val,
    /// Named formulas being expanded (a cycle stops the expansion).
    named_stack: Vec<String>,
    /// Names of columns the app adds (`AddColumns`).
    added: BTreeSet<String>,
}

/// Builds the profile of `app`. With `schema` (the server's, for the
/// app's tables) entity sets and lookups come from it and every column is
/// checked against it; an unknown column is an error naming the formula.
pub fn analyze(format: Format, app: &App, schema: Option<&Schema>) -> Result<Generated> {
    let mut tables: Vec<DataverseTable> = app
        .data_sources
        .iter()
        .filter_map(|d| match d {
            DataSource::Dataverse(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    if let Some(schema) = schema {
        for t in &mut tables {
            if let Some(s) = schema.by_logical_name(&t.logical_name) {
                t.entity_set = Some(s.entity_set.clone());
                t.primary_id = Some(s.primary_id.clone());
                // No name map in the source (YAML v3): the server's
                // display names are the map formulas are written against.
                // A column without a label is named by its logical name.
                if t.columns.is_empty() && s.attributes.iter().any(|a| a.display_name.is_some()) {
                    for a in &s.attributes {
                        let d = a.display_name.as_ref().unwrap_or(&a.logical_name);
                        t.columns.insert(a.logical_name.clone(), d.clone());
                    }
                }
                for l in &s.lookups {
                    t.lookup_targets
                        .entry(l.attribute.clone())
                        .or_default()
                        .push(l.target.clone());
                }
            }
        }
    }
    let tables: Vec<Table> = tables.into_iter().map(Table::new).collect();
    let mut a = Analyzer {
        app,
        usage: tables.iter().map(|_| Usage::default()).collect(),
        globals_index: global_names(app, &tables),
        tables,
        formulas: Vec::new(),
        named: HashMap::new(),
        globals: BTreeMap::new(),
        items: vec![eval::Val::Unknown; app.controls.len()],
        recording: false,
        warnings: BTreeSet::new(),
        here: None,
        frames: Vec::new(),
        this_item: eval::Val::Unknown,
        named_stack: Vec::new(),
        added: BTreeSet::new(),
    };
    a.parse_all()?;
    // One warm pass, then recording passes: a recording pass that leaves
    // the state unchanged saw the settled state (the one WARM_PASSES warm
    // passes reach), so it is the record; otherwise it is dropped and the
    // walk goes on, the last one recorded whatever the state.
    a.pass();
    a.recording = true;
    for attempt in 1..=WARM_PASSES {
        let before = (a.globals.clone(), a.items.clone(), a.added.clone());
        a.pass();
        let settled = a.globals == before.0 && a.items == before.1 && a.added == before.2;
        if settled || attempt == WARM_PASSES {
            break;
        }
        a.usage = a.tables.iter().map(|_| Usage::default()).collect();
        a.warnings.clear();
    }
    a.finish(format, schema)
}

impl Analyzer<'_> {
    fn prop(&self, control: usize, prop: usize) -> &Property {
        &self.app.controls[control].properties[prop]
    }

    fn parse_all(&mut self) -> Result<()> {
        for (ci, c) in self.app.controls.iter().enumerate() {
            for (pi, p) in c.properties.iter().enumerate() {
                let err = |e: fx::FxError| {
                    let (line, column) = position(p, &p.formula, e.at);
                    CanvasError::Formula {
                        file: p.file.clone(),
                        line,
                        column,
                        control: c.name.clone(),
                        property: p.name.clone(),
                        message: e.message,
                    }
                };
                if p.name == "Formulas" {
                    for (name, expr) in fx::parse_named_formulas(&p.formula).map_err(err)? {
                        self.named.insert(name, (Rc::new(expr), (ci, pi)));
                    }
                    continue;
                }
                let expr = fx::parse(&p.formula).map_err(err)?;
                self.formulas.push(Formula {
                    control: ci,
                    prop: pi,
                    expr,
                });
            }
        }
        // `Items`/`DataSource` first (stable: file order otherwise).
        let app = self.app;
        self.formulas.sort_by_key(|f| {
            let n = app.controls[f.control].properties[f.prop].name.as_str();
            !(n == "Items" || n == "DataSource")
        });
        Ok(())
    }

    /// One walk over every formula, `Items`/`DataSource` first so the
    /// controls' rows are known to the rest.
    fn pass(&mut self) {
        let formulas = std::mem::take(&mut self.formulas);
        for f in &formulas {
            self.here = Some((f.control, f.prop));
            let v = self.eval_property(f.control, f.prop, &f.expr);
            let name = self.prop(f.control, f.prop).name.as_str();
            if name == "Items" || name == "DataSource" {
                self.items[f.control] = v;
            }
        }
        self.here = None;
        self.formulas = formulas;
    }

    /// Where `at` (an offset of the current formula) is.
    fn site(&self, expr: &Expr) -> Site {
        let Some((c, p)) = self.here else {
            return Site {
                file: String::new(),
                control: "App".into(),
                property: "Formulas".into(),
                line: 0,
                column: 0,
                excerpt: String::new(),
            };
        };
        let prop = self.prop(c, p);
        let (line, column) = position(prop, &prop.formula, expr.at);
        let rest = prop.formula.get(expr.at..).unwrap_or("");
        let first = rest.lines().next().unwrap_or("").trim_end();
        let excerpt: String = if first.chars().count() > 72 {
            first.chars().take(72).collect::<String>() + "…"
        } else {
            first.to_string()
        };
        Site {
            file: prop.file.clone(),
            control: self.app.controls[c].name.clone(),
            property: prop.name.clone(),
            line,
            column,
            excerpt,
        }
    }

    fn note_table(&mut self, t: usize, expr: &Expr, write: bool) {
        if !self.recording {
            return;
        }
        let site = self.site(expr);
        let u = &mut self.usage[t];
        if write {
            u.written = true;
        } else {
            u.read = true;
        }
        u.because.insert(site);
    }

    fn note_column(&mut self, t: usize, logical: &str, expr: &Expr) {
        if !self.recording || logical == self.tables[t].primary_id() {
            return;
        }
        let site = self.site(expr);
        self.usage[t]
            .columns
            .entry(logical.to_string())
            .or_default()
            .insert(site);
    }

    fn note_rows(&mut self, t: usize, expr: &Expr, cond: Cond) {
        if !self.recording {
            return;
        }
        let site = self.site(expr);
        self.usage[t].read = true;
        self.usage[t].because.insert(site.clone());
        self.usage[t].rows.push((site, cond));
    }

    fn note_reached(&mut self, t: usize, expr: &Expr) {
        if !self.recording {
            return;
        }
        let site = self.site(expr);
        self.usage[t].reached = true;
        self.usage[t].because.insert(site);
    }

    fn warn(&mut self, kind: WarningKind, message: String, expr: Option<&Expr>) {
        if !self.recording {
            return;
        }
        let site = expr.map(|e| self.site(e));
        self.warnings.insert(Warning {
            kind,
            message,
            site,
        });
    }

    fn finish(mut self, format: Format, schema: Option<&Schema>) -> Result<Generated> {
        let mut profile_tables = Vec::new();
        let mut explained = Vec::new();
        let mut order: Vec<usize> = (0..self.tables.len()).collect();
        order.sort_by(|a, b| self.tables[*a].ds.name.cmp(&self.tables[*b].ds.name));
        let mut image_columns = 0;
        for i in order {
            let t = &self.tables[i].ds;
            let u = &self.usage[i];
            if !(u.read || u.written || u.reached) {
                self.warnings.insert(Warning {
                    kind: WarningKind::UnusedDataSource,
                    message: format!(
                        "table {} ({}) is declared by the app but no formula names it: not in the profile (a code component or a flow may use it)",
                        t.name, t.logical_name
                    ),
                    site: None,
                });
                continue;
            }
            let entity_set = match &t.entity_set {
                Some(s) => s.clone(),
                None => {
                    let guess = format!("{}s", t.logical_name);
                    self.warnings.insert(Warning {
                        kind: WarningKind::Guessed,
                        message: format!(
                            "table {} ({}): the source names no entity set; guessed {guess} (give --server to read it)",
                            t.name, t.logical_name
                        ),
                        site: None,
                    });
                    guess
                }
            };
            let (rows, rows_because) = decide_rows(u);
            let server = schema.and_then(|s| s.by_logical_name(&t.logical_name));
            let mut lookups = 0;
            for (col, sites) in &u.columns {
                if let Some(s) = server {
                    let Some(attr) = s.attribute(col) else {
                        let site = sites.iter().next().cloned();
                        let at = site
                            .map(|s| {
                                format!(
                                    " (named at {}:{}:{} {}.{}: {})",
                                    s.file, s.line, s.column, s.control, s.property, s.excerpt
                                )
                            })
                            .unwrap_or_default();
                        return Err(CanvasError::Schema(format!(
                            "table {} ({}): column {col} does not exist on the server{at}",
                            t.name, entity_set
                        )));
                    };
                    if attr.is_lookup() {
                        lookups += 1;
                    }
                    if attr.attribute_type == "Image"
                        || attr.attribute_type == "Virtual" && col.ends_with("image")
                    {
                        image_columns += 1;
                    }
                }
            }
            if lookups > MAX_RELATIONSHIPS {
                self.warnings.insert(Warning {
                    kind: WarningKind::OverLimit,
                    message: format!(
                        "table {}: {lookups} lookup columns; Dataverse offline allows at most {MAX_RELATIONSHIPS} relationships per table",
                        t.name
                    ),
                    site: None,
                });
            }
            profile_tables.push(TableProfile {
                name: entity_set.clone(),
                columns: u.columns.keys().cloned().collect(),
                rows: rows.clone(),
                interval_minutes: mooring_core::profile::DEFAULT_INTERVAL_MINUTES,
            });
            explained.push(TableExplanation {
                name: t.name.clone(),
                logical_name: t.logical_name.clone(),
                entity_set,
                read: u.read,
                written: u.written,
                because: u.because.iter().cloned().collect(),
                columns: u
                    .columns
                    .iter()
                    .map(|(c, s)| ColumnExplanation {
                        logical_name: c.clone(),
                        display_name: self.tables[i].display(c),
                        because: s.iter().cloned().collect(),
                    })
                    .collect(),
                rows,
                rows_because,
            });
        }
        if image_columns > MAX_IMAGE_COLUMNS {
            self.warnings.insert(Warning {
                kind: WarningKind::OverLimit,
                message: format!(
                    "{image_columns} image columns; Dataverse offline allows at most {MAX_IMAGE_COLUMNS} across all tables"
                ),
                site: None,
            });
        }
        if profile_tables.is_empty() {
            return Err(CanvasError::Format(format!(
                "app {}: no formula uses a Dataverse table, so there is nothing to keep offline",
                self.app.name
            )));
        }
        let profile = Profile {
            tables: profile_tables,
        };
        profile.check_shape()?;
        Ok(Generated {
            profile,
            explanation: Explanation {
                app: self.app.name.clone(),
                format,
                tables: explained,
                warnings: self.warnings.into_iter().collect(),
            },
        })
    }
}

/// The rows a table keeps: the union of what each read needs. A read that
/// needs every row makes it `all`; a table only written keeps the rows the
/// user owns (the ones they create); a table reached only through lookups
/// keeps the related rows.
fn decide_rows(u: &Usage) -> (Rows, Vec<RowReason>) {
    let mut reasons = Vec::new();
    let mut acc: Option<Rows> = None;
    // In file order, each place once (a named formula used twice is one read).
    let mut reads: Vec<&(Site, Cond)> = u.rows.iter().collect();
    reads.sort_by(|a, b| a.0.cmp(&b.0));
    reads.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    for (site, cond) in reads {
        let (rows, keeps, reason) = cond.to_rows();
        reasons.push(RowReason {
            site: site.clone(),
            keeps,
            reason,
        });
        acc = Some(match acc {
            None => rows,
            Some(a) => a.union(&rows),
        });
    }
    let rows = match acc {
        Some(r) if u.reached => r.union(&Rows::related()),
        Some(r) => r,
        None if u.reached => Rows::related(),
        None => Rows::owned(),
    };
    if u.rows.is_empty() {
        let site = u.because.iter().next().cloned().unwrap_or_else(|| Site {
            file: String::new(),
            control: String::new(),
            property: String::new(),
            line: 0,
            column: 0,
            excerpt: String::new(),
        });
        let (keeps, reason) = if u.reached {
            (
                "related",
                "only reached through lookups of other tables: the rows they point at",
            )
        } else {
            (
                "owned",
                "no formula reads its rows (it is written, or edited in a form): the rows the user owns (the ones they create)",
            )
        };
        reasons.push(RowReason {
            site,
            keeps: keeps.into(),
            reason: reason.into(),
        });
    }
    (rows, reasons)
}

/// 1-based line and column in the file of offset `at` of a formula.
fn position(p: &Property, formula: &str, at: usize) -> (usize, usize) {
    if p.line == 0 {
        return (0, 0);
    }
    let (l, c) = fx::line_col(formula, at);
    if l == 1 {
        (p.line, p.column + c - 1)
    } else {
        // Later lines of a block scalar start at its indentation, one
        // column before the first line's text (which follows the `=`).
        (p.line + l - 1, p.column.saturating_sub(1) + c - 1)
    }
}
