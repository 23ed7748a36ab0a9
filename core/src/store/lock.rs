//! One open mirror per file: `<db>-lock` beside the database, held with an
//! OS advisory lock (`flock`, on every Unix: Android, iOS, macOS, Linux) for
//! as long as the store is open. A second
//! opener, in this process or another, gets `Error::InUse` at once, naming
//! the holder the file records, instead of "database is locked" half-way
//! through a sync. The OS releases the lock when its process dies (a
//! SIGKILL included), so a crash never leaves the mirror locked.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub(crate) struct FileLock {
    _file: File,
}

/// The lock file of the mirror at `db`.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-lock");
    PathBuf::from(p)
}

/// Who holds the lock, as the other opener is told: the program and its pid.
fn holder() -> String {
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "a process".into());
    format!("{program} (pid {})", std::process::id())
}

impl FileLock {
    pub(crate) fn acquire(db: &Path) -> Result<FileLock> {
        let path = lock_path(db);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match try_lock(&file) {
            Ok(true) => {}
            Ok(false) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let text = text.trim();
                return Err(Error::InUse {
                    holder: (!text.is_empty() && text.len() < 200).then(|| text.to_string()),
                });
            }
            Err(e) => return Err(e.into()),
        }
        // Ours now: say who we are for the next opener (best effort).
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder().as_bytes()));
        Ok(FileLock { _file: file })
    }
}

/// `flock(LOCK_EX | LOCK_NB)`: Ok(false) when another open file holds it.
/// By hand over libc (already in the tree) because std's `File::try_lock`
/// needs Rust 1.89 and the workspace supports 1.85.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this `File` owns and keeps open; no
    // memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// No advisory lock off Unix (no Mooring target is there): SQLite's own
/// locking still keeps the file consistent.
#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}
