//! File-system steps that make a save survive a crash: the run lock, the writability probe, the
//! atomic replace, and the rescue copy when a save fails.
//!
//! Everything here is plain `std` on Unix semantics: `flock`-style locks through `File::lock`,
//! `rename(2)` to replace a file atomically, and an fsync of the folder so the rename itself is
//! on disk.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Owner read and write only: the file holds live credentials.
pub const MODE: u32 = 0o600;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// The folder a path lives in; `.` for a bare file name.
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned())
}

/// `<state>.lock`: the state file itself cannot carry the lock, because every save replaces it
/// with a new inode and a second run would lock the new one.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Prefix of temporary files beside the state file. A leading dot keeps them out of `ls` and
/// globs like `*.yaml`; the state file's full name keeps two state files in one folder apart.
fn temp_prefix(path: &Path) -> String {
    format!(".{}.tmp-", file_name(path))
}

fn probe_prefix(path: &Path) -> String {
    format!(".{}.probe-", file_name(path))
}

/// A name no other writer uses: process id, a per-process counter and the clock.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a new file with mode 0600, failing if the name exists. The mode is set again after
/// creation because `open(2)` applies the umask, and a umask like 0277 would leave the owner
/// unable to write.
fn create_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(MODE))?;
    Ok(file)
}

/// Makes an existing state file owner-only when others could read or write it; returns the
/// mode it had. A missing file, or one that cannot be changed, is left alone (the next save
/// writes it 0600 anyway).
pub fn tighten(path: &Path) -> Option<u32> {
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return None;
    }
    fs::set_permissions(path, Permissions::from_mode(MODE)).ok()?;
    Some(mode)
}

/// Why the lock could not be taken.
pub enum LockFailure {
    /// Another process held it for the whole wait.
    Timeout,
    Io(io::Error),
}

/// Opens (creating it 0600 if needed) and exclusively locks `lock`, polling until `timeout`.
///
/// The lock file is never deleted: removing it while another run waits on it would let a third
/// run lock a fresh file at the same path, and two runs would proceed at once.
pub fn lock(lock: &Path, timeout: Duration) -> Result<File, LockFailure> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(MODE)
        .open(lock)
        .map_err(LockFailure::Io)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(LockFailure::Io(e)),
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(LockFailure::Timeout);
        }
        std::thread::sleep(POLL.min(timeout - waited));
    }
}

/// Proves the folder takes new files by creating and removing one, so a run cannot spend a
/// single-use token whose successor it then cannot save.
pub fn probe(path: &Path) -> io::Result<()> {
    let probe = folder(path).join(format!("{}{}", probe_prefix(path), unique_suffix()));
    let mut file = create_private(&probe)?;
    let written = file.write_all(b"courier").and_then(|()| file.sync_all());
    drop(file);
    let removed = fs::remove_file(&probe);
    written.and(removed)
}

/// Deletes temporary and probe files a killed run left beside the state file. Only the lock
/// holder calls this, so no live writer owns them. Failures are ignored: a stray file is untidy,
/// never wrong, because readers only ever open the state file itself.
pub fn remove_strays(path: &Path) {
    let Ok(entries) = fs::read_dir(folder(path)) else {
        return;
    };
    let prefixes = [temp_prefix(path), probe_prefix(path)];
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `contents` so that a crash at any instant leaves either the old file or
/// the new one, complete.
///
/// The data is written to a fresh temporary file in the same folder (a rename is only atomic
/// within one file system) and fsynced before the rename, otherwise the rename could reach the
/// disk before the data and a power cut would leave an empty file under the real name. The
/// folder is fsynced after the rename because the rename is a change to the folder: until the
/// folder's entry is on disk, a crash can bring the old file back.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let temp = folder(path).join(format!("{}{}", temp_prefix(path), unique_suffix()));
    let mut file = create_private(&temp)?;
    let result = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            fs::rename(&temp, path)
        });
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_folder(path)
}

fn sync_folder(path: &Path) -> io::Result<()> {
    File::open(folder(path))?.sync_all()
}

/// Writes `value` to a new 0600 file named `<state>.rescue-<unix seconds>` in `dir`, adding
/// `-2`, `-3`… if that name is taken (never overwriting an earlier rescue).
pub fn write_rescue(dir: &Path, state: &Path, value: &str) -> io::Result<PathBuf> {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = format!("{}.rescue-{seconds}", file_name(state));
    let mut n = 1;
    loop {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let path = dir.join(name);
        match create_private(&path) {
            Ok(mut file) => {
                let written = file
                    .write_all(value.as_bytes())
                    .and_then(|()| file.sync_all());
                if let Err(e) = written {
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
                // Best effort: the file's data is on disk; losing its name in a power cut is
                // less likely than the failure that brought us here.
                let _ = sync_folder(&path);
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_and_folder() {
        assert_eq!(
            lock_path(Path::new("env/prod.state.yaml")),
            Path::new("env/prod.state.yaml.lock")
        );
        assert_eq!(folder(Path::new("prod.state.yaml")), Path::new("."));
        assert_eq!(folder(Path::new("env/p.yaml")), Path::new("env"));
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s.yaml"]);
    }

    #[test]
    fn strays_of_other_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        for name in [
            ".s.yaml.tmp-1",
            ".s.yaml.probe-1",
            ".s.yaml.bak.tmp-1",
            "s.yaml.rescue-1",
        ] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        remove_strays(&path);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".s.yaml.bak.tmp-1", "s.yaml.rescue-1"]);
    }

    #[test]
    fn rescue_never_overwrites_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.yaml");
        let a = write_rescue(dir.path(), &state, "a").unwrap();
        let b = write_rescue(dir.path(), &state, "b").unwrap();
        assert_ne!(a, b);
        assert_eq!(fs::read_to_string(a).unwrap(), "a");
        assert_eq!(fs::read_to_string(b).unwrap(), "b");
    }
}
