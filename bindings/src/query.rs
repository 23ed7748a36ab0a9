//! Typed queries across the FFI, mirroring `mooring_core::Query`. uniffi has
//! no boxed recursion, so `Not` becomes `NoneOf` (a list, like `AnyOf`).

use crate::error::MooringError;
use crate::value::{Value, to_core};

/// One condition on a column. Column names are logical names from the
/// profile; values are always bound parameters.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum Filter {
    /// `Eq` with `Null` means "is null".
    Eq {
        column: String,
        value: Value,
    },
    /// `Ne` also matches rows where the column is null.
    Ne {
        column: String,
        value: Value,
    },
    Lt {
        column: String,
        value: Value,
    },
    Le {
        column: String,
        value: Value,
    },
    Gt {
        column: String,
        value: Value,
    },
    Ge {
        column: String,
        value: Value,
    },
    /// Case-insensitive (ASCII) substring.
    Contains {
        column: String,
        text: String,
    },
    StartsWith {
        column: String,
        text: String,
    },
    IsNull {
        column: String,
    },
    IsNotNull {
        column: String,
    },
    In {
        column: String,
        values: Vec<Value>,
    },
    /// Every filter holds (an empty list: always true).
    AllOf {
        filters: Vec<Filter>,
    },
    /// At least one holds (an empty list: never true).
    AnyOf {
        filters: Vec<Filter>,
    },
    /// None holds: NOT (a OR b ...).
    NoneOf {
        filters: Vec<Filter>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SortKey {
    pub column: String,
    #[uniffi(default)]
    pub descending: bool,
}

/// Rows of one table: `filters` all hold (AND), sorted by `order` then the
/// key (a stable order), paged by `limit`/`offset`.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Query {
    pub table: String,
    #[uniffi(default)]
    pub filters: Vec<Filter>,
    #[uniffi(default)]
    pub order: Vec<SortKey>,
    #[uniffi(default)]
    pub limit: Option<u32>,
    #[uniffi(default)]
    pub offset: Option<u32>,
}

fn filter_to_core(f: Filter) -> Result<mooring_core::Filter, MooringError> {
    use mooring_core::Filter as C;
    let list = |fs: Vec<Filter>| -> Result<Vec<C>, MooringError> {
        fs.into_iter().map(filter_to_core).collect()
    };
    Ok(match f {
        Filter::Eq { column, value } => C::Eq(column.clone(), to_core(&column, value)?),
        Filter::Ne { column, value } => C::Ne(column.clone(), to_core(&column, value)?),
        Filter::Lt { column, value } => C::Lt(column.clone(), to_core(&column, value)?),
        Filter::Le { column, value } => C::Le(column.clone(), to_core(&column, value)?),
        Filter::Gt { column, value } => C::Gt(column.clone(), to_core(&column, value)?),
        Filter::Ge { column, value } => C::Ge(column.clone(), to_core(&column, value)?),
        Filter::Contains { column, text } => C::Contains(column, text),
        Filter::StartsWith { column, text } => C::StartsWith(column, text),
        Filter::IsNull { column } => C::IsNull(column),
        Filter::IsNotNull { column } => C::IsNotNull(column),
        Filter::In { column, values } => {
            let vs = values
                .into_iter()
                .map(|v| to_core(&column, v))
                .collect::<Result<_, _>>()?;
            C::In(column, vs)
        }
        Filter::AllOf { filters } => C::And(list(filters)?),
        Filter::AnyOf { filters } => C::Or(list(filters)?),
        Filter::NoneOf { filters } => C::Not(Box::new(C::Or(list(filters)?))),
    })
}

impl TryFrom<Query> for mooring_core::Query {
    type Error = MooringError;

    fn try_from(q: Query) -> Result<Self, MooringError> {
        let mut filters = q
            .filters
            .into_iter()
            .map(filter_to_core)
            .collect::<Result<Vec<_>, _>>()?;
        let filter = match filters.len() {
            0 => None,
            1 => filters.pop(),
            _ => Some(mooring_core::Filter::And(filters)),
        };
        Ok(mooring_core::Query {
            table: q.table,
            filter,
            sort: q
                .order
                .into_iter()
                .map(|s| mooring_core::Sort {
                    column: s.column,
                    descending: s.descending,
                })
                .collect(),
            limit: q.limit,
            offset: q.offset,
        })
    }
}
