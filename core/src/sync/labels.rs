//! The labels of the profile's choice columns, read from the server's
//! metadata once and remembered with the resolved profile: a column whose
//! options the remembered profile already has keeps them, so a sync asks
//! only for new columns (labels change rarely; a changed profile, or a
//! column the server retyped, asks again). A server that cannot answer the
//! cast (an older or partial implementation) leaves the labels unknown:
//! reads then give choice values without labels, never an error.

use std::collections::HashMap;

use tracing::debug;

use crate::error::{Error, Result};
use crate::profile::{ChoiceOption, ColumnType, ResolvedProfile};
use crate::remote::Remote;
use crate::store::Store;

pub(super) async fn fill(
    remote: &Remote,
    store: &Store,
    mut profile: ResolvedProfile,
) -> Result<ResolvedProfile> {
    let remembered = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.resolved_profile()).await??
    };
    // (table index, metadata type) → column indexes still without options.
    let mut wanted: HashMap<(usize, &'static str), Vec<usize>> = HashMap::new();
    for (ti, t) in profile.tables.iter_mut().enumerate() {
        let old = remembered
            .as_ref()
            .and_then(|p| p.tables.iter().find(|o| o.name == t.name));
        for (ci, c) in t.columns.iter_mut().enumerate() {
            let Some(meta) =
                ColumnType::option_set_metadata(&c.attribute_type, c.type_name.as_deref())
            else {
                continue;
            };
            let kept = old
                .and_then(|o| o.column(&c.name))
                .filter(|o| o.attribute_type == c.attribute_type)
                .and_then(|o| o.options.clone());
            match kept {
                Some(options) => c.options = Some(options),
                None => wanted.entry((ti, meta)).or_default().push(ci),
            }
        }
    }
    let asks = wanted.iter().map(|((ti, meta), _)| {
        let logical = profile.tables[*ti].logical_name.clone();
        async move {
            match remote.choice_options(&logical, meta).await {
                Ok(found) => Ok(Some(found)),
                // Not served (an emulator or server without the cast):
                // labels stay unknown.
                Err(Error::Http { status, .. })
                    if (400..500).contains(&status) && !matches!(status, 401 | 408 | 429) =>
                {
                    debug!(table = %logical, meta, status, "no choice labels from this server");
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
    });
    let answers = futures_util::future::try_join_all(asks).await?;
    for (((ti, _), cols), found) in wanted.iter().zip(answers) {
        let Some(mut found) = found else { continue };
        for &ci in cols {
            let c = &mut profile.tables[*ti].columns[ci];
            let options: Vec<ChoiceOption> = found.remove(&c.name).unwrap_or_default();
            c.options = Some(options);
        }
    }
    Ok(profile)
}
