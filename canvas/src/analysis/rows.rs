//! What one read of a table needs of its rows. A predicate the device can
//! evaluate without the app's state becomes an OData filter (or "owned by
//! the user"); anything that depends on a control, a variable, a view or a
//! connector keeps every row, with the reason. `a && b` keeps what either
//! side keeps (a superset of the rows the app shows is always safe; fewer
//! is not), `a || b` needs both.

use mooring_core::Rows;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Every row, and why.
    All(String),
    /// Rows owned by the user, or matching the filter (either or both).
    Some {
        owned: bool,
        filter: Option<String>,
        why: String,
    },
}

impl Cond {
    pub fn filter(f: String, why: String) -> Cond {
        Cond::Some {
            owned: false,
            filter: Some(f),
            why,
        }
    }

    pub fn owned(why: String) -> Cond {
        Cond::Some {
            owned: true,
            filter: None,
            why,
        }
    }

    pub fn and(self, other: Cond) -> Cond {
        match (self, other) {
            (Cond::All(_), c) | (c, Cond::All(_)) => c,
            (
                Cond::Some {
                    owned: false,
                    filter: Some(a),
                    why: w1,
                },
                Cond::Some {
                    owned: false,
                    filter: Some(b),
                    why: w2,
                },
            ) => Cond::filter(
                format!("{} and {}", paren(&a), paren(&b)),
                format!("{w1}; {w2}"),
            ),
            // Owned AND a filter is not expressible: keep the owned rows
            // (a superset), the narrower of the two in practice.
            (c @ Cond::Some { owned: true, .. }, _) | (_, c @ Cond::Some { owned: true, .. }) => c,
            (a, _) => a,
        }
    }

    pub fn or(self, other: Cond) -> Cond {
        match (self, other) {
            (a @ Cond::All(_), _) | (_, a @ Cond::All(_)) => a,
            (
                Cond::Some {
                    owned: o1,
                    filter: f1,
                    why: w1,
                },
                Cond::Some {
                    owned: o2,
                    filter: f2,
                    why: w2,
                },
            ) => Cond::Some {
                owned: o1 || o2,
                filter: match (f1, f2) {
                    (Some(a), Some(b)) => Some(format!("{} or {}", paren(&a), paren(&b))),
                    (a, b) => a.or(b),
                },
                why: format!("{w1}; {w2}"),
            },
        }
    }

    /// The profile's rows, a short "keeps" and the reason.
    pub fn to_rows(&self) -> (Rows, String, String) {
        match self {
            Cond::All(why) => (Rows::All, "all".into(), why.clone()),
            Cond::Some { owned, filter, why } => {
                let rows = Rows::Some {
                    owned: *owned,
                    filter: filter.clone(),
                    related: false,
                };
                let keeps = match (owned, filter) {
                    (true, Some(f)) => format!("owned or {f}"),
                    (true, None) => "owned".into(),
                    (false, Some(f)) => f.clone(),
                    (false, None) => "all".into(),
                };
                (rows, keeps, why.clone())
            }
        }
    }
}

fn paren(s: &str) -> String {
    if s.contains(" and ") || s.contains(" or ") {
        format!("({s})")
    } else {
        s.to_string()
    }
}

/// An OData text literal.
pub fn odata_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_keeps_a_superset_or_needs_both() {
        let f = |s: &str| Cond::filter(s.into(), s.into());
        let all = Cond::All("control".into());
        assert_eq!(f("a eq 1").and(all.clone()), f("a eq 1"));
        assert_eq!(
            f("a eq 1").and(f("b eq 2")).to_rows().1,
            "a eq 1 and b eq 2"
        );
        assert_eq!(f("a eq 1").or(all.clone()), all);
        assert_eq!(
            Cond::owned("me".into()).or(f("a eq 1")).to_rows().0,
            Rows::Some {
                owned: true,
                filter: Some("a eq 1".into()),
                related: false
            }
        );
        assert_eq!(
            Cond::owned("me".into()).and(f("a eq 1")).to_rows().0,
            Rows::owned()
        );
        assert_eq!(
            f("a eq 1").or(f("b eq 2")).and(f("c eq 3")).to_rows().1,
            "(a eq 1 or b eq 2) and c eq 3"
        );
    }
}
