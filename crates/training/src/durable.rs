//! Files that survive crashes and hostile paths: durable atomic writes, bounded reads, checksums.
//!
//! A write goes to a temporary file beside the target, is flushed to the disk (`fsync`), renamed
//! over the target, and the directory is flushed too, so after a crash of the process or of the
//! machine the target holds either its old bytes or the new ones, never a mixture. A symbolic link
//! is followed (the file it points to is replaced, the link stays); a directory, FIFO or device is
//! never replaced.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Result, data_error, io_error};

/// The largest file read as a corpus or a data file: larger ones (or endless streams such as
/// `/dev/zero`) are refused instead of filling the memory.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// The SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn other(path: &Path, message: impl Into<String>) -> crate::TrainingError {
    io_error(path, std::io::Error::other(message.into()))
}

/// Flushes a directory's entries (new names, renames) to the disk.
pub fn sync_directory(dir: &Path) -> Result<()> {
    // Windows cannot open a directory as a file; its renames are durable once they return.
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(dir, e))?;
    }
    Ok(())
}

/// Creates `path` (which must not exist) with `bytes`, flushed to the disk.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, e))
}

/// The file a write to `path` must replace: `path` itself, or the end of its chain of symbolic
/// links; an error when that is a directory, a FIFO, a device or a socket.
pub fn write_target(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    // Linux gives up after 40 links (ELOOP); so does this.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(io_error(&current, e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(|e| io_error(&current, e))?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            Ok(meta) if meta.is_file() => return Ok(current),
            Ok(_) => {
                return Err(other(
                    &current,
                    "not a regular file (a directory, FIFO, device or socket): refusing to replace it",
                ));
            }
        }
    }
    Err(other(path, "too many levels of symbolic links"))
}

/// Writes `bytes` to `path` atomically and durably: a temporary file beside the target, flushed,
/// renamed over it, and the directory flushed. A symbolic link at `path` is followed, not
/// replaced; a directory, FIFO or device is refused.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = write_target(path)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| other(path, "not a file name"))?;
    let temporary = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    if let Err(error) = write_new_file(&temporary, bytes) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    std::fs::rename(&temporary, &target).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        io_error(&target, e)
    })?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_directory(parent)
}

/// The records of a CSV data file (at most [`MAX_INPUT_BYTES`]), each with its line number, as
/// every data file is read: no header row (the caller tells a header apart), rows of any length,
/// fields trimmed, lines starting with `#` skipped. A malformed record is an error naming the
/// file and the line.
pub fn read_csv_records(path: &Path) -> Result<Vec<(usize, csv::StringRecord)>> {
    csv_records(path, &read_limited(path, MAX_INPUT_BYTES)?)
}

/// The records of a CSV file's `bytes`, read from `path` (named in errors), as
/// [`read_csv_records`]: for data read once, its bytes also hashed for the run's record.
pub fn csv_records(path: &Path, bytes: &[u8]) -> Result<Vec<(usize, csv::StringRecord)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(bytes);
    reader
        .records()
        .enumerate()
        .map(|(index, record)| {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize);
                data_error(path, line, e.to_string())
            })?;
            let line = record.position().map_or(index + 1, |p| p.line() as usize);
            Ok((line, record))
        })
        .collect()
}

/// The fields of one CSV line, as [`csv_records`] reads a file's (quotes, trimmed fields), but
/// with nothing taken as a comment: one input line, one record.
pub fn csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record.iter().map(str::to_owned).collect()),
        Some(Err(error)) => Err(error.to_string()),
        None => Ok(Vec::new()),
    }
}

/// Reads a whole file of at most `limit` bytes; a larger file, an endless stream or a directory
/// is an error naming the limit.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(other(path, "is a directory, not a file"));
    }
    let too_large = || {
        other(
            path,
            format!(
                "larger than {} MiB, the most this reads (an endless stream such as /dev/zero never ends)",
                limit >> 20
            ),
        )
    };
    if meta.is_file() && meta.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// An empty directory of this process's own for unit test `name`.
#[cfg(test)]
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unroll-unit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_strings() {
        // FIPS 180-2 test vectors.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn atomic_write_replaces_files_and_follows_links() {
        let dir = scratch("write");
        let file = dir.join("a.bin");
        write_atomically(&file, b"one").unwrap();
        write_atomically(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        #[cfg(unix)]
        {
            let link = dir.join("link.bin");
            std::os::unix::fs::symlink("a.bin", &link).unwrap();
            write_atomically(&link, b"three").unwrap();
            assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
            assert_eq!(std::fs::read(&file).unwrap(), b"three");
        }
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let error = write_atomically(&sub, b"x").unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_are_bounded() {
        let dir = scratch("read");
        let file = dir.join("f");
        std::fs::write(&file, [7u8; 100]).unwrap();
        assert_eq!(read_limited(&file, 100).unwrap().len(), 100);
        assert!(read_limited(&file, 99).is_err());
        assert!(read_limited(&dir, 1000).is_err());
        #[cfg(unix)]
        {
            let error = read_limited(Path::new("/dev/zero"), 1 << 16)
                .unwrap_err()
                .to_string();
            assert!(error.contains("larger than"), "{error}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
