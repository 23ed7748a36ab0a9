//! The syntax tree of a formula. Positions are byte offsets in the formula.

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub at: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An empty formula (`Default: =`) or an omitted argument.
    Blank,
    /// A name, quoted or not: `Timesheets`, `'Date Worked'`, `ThisItem`,
    /// `Self`, `Parent`.
    Name(String),
    /// `[@Name]` (global) and `Table[@Field]`.
    Disambiguated {
        scope: Option<Box<Expr>>,
        name: String,
    },
    Text(String),
    Number(String),
    Bool(bool),
    /// `$"…"`: text parts and expressions, in order.
    Interpolated(Vec<Expr>),
    /// `a.b` (and the legacy `a!b`).
    Dot(Box<Expr>, String),
    /// `F(args)`, or `Namespace.F(args)` with `namespace` set.
    Call {
        namespace: Option<String>,
        name: String,
        args: Vec<Expr>,
    },
    Record(Vec<(String, Expr)>),
    /// `[a, b]`: a one-column table (`Value`).
    Table(Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `Source As Name`.
    As(Box<Expr>, String),
    /// `a; b` in behaviour properties.
    Chain(Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    Percent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    In,
    ExactIn,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

impl Expr {
    /// Every direct sub-expression, in source order.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Blank
            | ExprKind::Name(_)
            | ExprKind::Text(_)
            | ExprKind::Number(_)
            | ExprKind::Bool(_) => vec![],
            ExprKind::Disambiguated { scope, .. } => scope.iter().map(|b| &**b).collect(),
            ExprKind::Interpolated(v) | ExprKind::Table(v) | ExprKind::Chain(v) => {
                v.iter().collect()
            }
            ExprKind::Call { args, .. } => args.iter().collect(),
            ExprKind::Dot(e, _) | ExprKind::Unary(_, e) | ExprKind::As(e, _) => vec![e],
            ExprKind::Record(f) => f.iter().map(|(_, e)| e).collect(),
            ExprKind::Binary(_, a, b) => vec![a, b],
        }
    }
}
