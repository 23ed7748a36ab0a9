//! The app's one outbox. It exists once a resolved profile is known: the one
//! remembered in the mirror at the last connection (so a reopened app
//! queues and uploads offline-made changes at once), or the one the first
//! prepare resolves. Built here and nowhere else; the facade writes
//! through it and the scheduler uploads through it.

use std::sync::{Arc, RwLock};

use super::{Outbox, OutboxConfig};
use crate::error::{Error, Result};
use crate::profile::ResolvedProfile;
use crate::remote::Remote;
use crate::store::Store;

#[derive(Clone)]
pub(crate) struct OutboxSlot {
    store: Store,
    config: OutboxConfig,
    remote: Remote,
    outbox: Arc<RwLock<Option<Outbox>>>,
}

impl OutboxSlot {
    /// Empty, or with the outbox of the profile the mirror remembers.
    /// Blocking (reads the mirror).
    pub fn open(store: Store, config: OutboxConfig, remote: Remote) -> Result<OutboxSlot> {
        let remembered = store.resolved_profile()?;
        let slot = OutboxSlot {
            store,
            config,
            remote,
            outbox: Arc::new(RwLock::new(None)),
        };
        if let Some(profile) = remembered {
            slot.put(profile);
        }
        Ok(slot)
    }

    /// The profile was resolved against the server: remember it in the
    /// mirror (for the next open, offline too) and write through it from now
    /// on. Blocking.
    pub fn install(&self, profile: ResolvedProfile) -> Result<()> {
        self.store.set_resolved_profile(&profile)?;
        self.put(profile);
        Ok(())
    }

    fn put(&self, profile: ResolvedProfile) {
        let outbox = Outbox::new(
            self.store.clone(),
            profile,
            self.config.clone(),
            self.remote.clone(),
        );
        // A poisoned lock only means a panic elsewhere mid-assignment of a
        // plain value: the slot is still whole.
        *self.outbox.write().unwrap_or_else(|p| p.into_inner()) = Some(outbox);
    }

    /// The outbox, if a profile is known.
    pub fn current(&self) -> Option<Outbox> {
        self.outbox
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The outbox, or the error an app gets for a write before the first
    /// connection ever resolved the profile.
    pub fn get(&self) -> Result<Outbox> {
        self.current().ok_or_else(|| {
            Error::Profile(
                "local writes need the offline profile checked against the server once: \
                 the first sync has not run yet"
                    .into(),
            )
        })
    }
}
