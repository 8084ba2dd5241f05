//! Input lines read with bounds: one line and the whole input have a most, so that an endless
//! stream (`/dev/zero`, `/dev/urandom`) is refused in one line instead of filling the memory.

use std::io::{BufRead, Read};

/// The most one input line may hold.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The most a whole input may hold, as for training data.
pub const MAX_INPUT_BYTES: u64 = unroll::training::durable::MAX_INPUT_BYTES;

/// The lines of `reader` (named `source` in messages), each without its line end, numbered
/// from 1; a line longer than [`MAX_LINE_BYTES`] or an input longer than [`MAX_INPUT_BYTES`] is
/// an error, after which nothing more is read.
pub struct BoundedLines<R> {
    reader: R,
    source: String,
    line: usize,
    read: u64,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    /// The lines of `reader`, named `source` (a path, `stdin`) in messages.
    pub fn new(reader: R, source: impl Into<String>) -> Self {
        BoundedLines {
            reader,
            source: source.into(),
            line: 0,
            read: 0,
            done: false,
        }
    }

    fn refuse(&mut self, reason: String) -> Option<Result<(usize, Vec<u8>), String>> {
        self.done = true;
        Some(Err(format!("{}:{}: {reason}", self.source, self.line)))
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    /// The line's number and bytes, or why reading stopped.
    type Item = Result<(usize, Vec<u8>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        let most = MAX_LINE_BYTES as u64 + 1;
        let read = match (&mut self.reader).take(most).read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(read) => read,
            Err(error) => {
                self.done = true;
                return Some(Err(format!("{}: {error}", self.source)));
            }
        };
        self.line += 1;
        self.read += read as u64;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > MAX_LINE_BYTES {
            return self.refuse(format!(
                "a line longer than {} MiB, the most one line may hold (an endless stream such as \
                 /dev/zero has no line end)",
                MAX_LINE_BYTES >> 20
            ));
        }
        if self.read > MAX_INPUT_BYTES {
            return self.refuse(format!(
                "more than {} MiB of input, the most this reads",
                MAX_INPUT_BYTES >> 20
            ));
        }
        Some(Ok((self.line, line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_an_endless_line_is_refused() {
        let lines: Vec<_> = BoundedLines::new(&b"a\n\nb"[..], "x").collect();
        assert_eq!(
            lines,
            [
                Ok((1, b"a".to_vec())),
                Ok((2, Vec::new())),
                Ok((3, b"b".to_vec()))
            ]
        );
        let zeros = std::io::repeat(0).take(3 * MAX_LINE_BYTES as u64);
        let mut endless = BoundedLines::new(std::io::BufReader::new(zeros), "/dev/zero");
        let error = endless.next().unwrap().unwrap_err();
        assert!(
            error.starts_with("/dev/zero:1: a line longer than 1 MiB"),
            "{error}"
        );
        assert!(endless.next().is_none());
    }
}
