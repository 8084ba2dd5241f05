//! Sequences a user brings, each with one target: text lines labelled by a tab or by the file
//! they are in, or numeric CSV rows. Every sample remembers its file and line, so that anything
//! wrong with it is reported there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::corpus::{SymbolMode, numbered_lines};
use crate::durable::{MAX_INPUT_BYTES, csv_records, read_limited};
use crate::error::{Result, TrainingError, data_error, io_error};

/// What a sequence's target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A label out of a fixed set: classification, trained with cross-entropy.
    Class,
    /// A real number: regression, trained with the mean squared error.
    Value,
}

/// A sample's input before encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum RawSequence {
    /// Text; its characters become symbols (in byte mode, each char stands for the byte of
    /// the same value).
    Text(String),
    /// Real values, one per step.
    Numbers(Vec<f32>),
}

impl RawSequence {
    /// The number of steps: symbols or values.
    pub fn steps(&self) -> usize {
        match self {
            RawSequence::Text(text) => text.chars().count(),
            RawSequence::Numbers(values) => values.len(),
        }
    }
}

/// A sample's target before encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum RawTarget {
    /// A label, as written.
    Label(String),
    /// A number.
    Value(f64),
    /// One label per step (per-step labelling), each as written.
    Steps(Vec<String>),
}

/// Where a sample was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The file.
    pub path: Arc<Path>,
    /// Its line, 1-based.
    pub line: usize,
}

impl Origin {
    /// An error about this sample.
    pub fn error(&self, reason: impl Into<String>) -> TrainingError {
        data_error(&self.path, Some(self.line), reason)
    }
}

/// One sample: a sequence, its target, and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The input sequence.
    pub sequence: RawSequence,
    /// What the model should give for it.
    pub target: RawTarget,
    /// Its file and line.
    pub origin: Origin,
}

/// The lines of a text file with their numbers, without line ends; blank lines are skipped.
fn text_lines(path: &Path, mode: SymbolMode) -> Result<Vec<(usize, String)>> {
    numbered_lines(path, &read_limited(path, MAX_INPUT_BYTES)?, mode)
}

/// Reads `label<TAB>text` lines: the label is everything before the first tab.
pub fn read_labelled_lines(path: &Path, mode: SymbolMode) -> Result<Vec<Example>> {
    labelled_lines(path, &read_limited(path, MAX_INPUT_BYTES)?, mode)
}

/// The samples of a `label<TAB>text` file's `bytes`, read from `path`, as
/// [`read_labelled_lines`]: for data read once.
pub fn labelled_lines(path: &Path, bytes: &[u8], mode: SymbolMode) -> Result<Vec<Example>> {
    let origin_path: Arc<Path> = Arc::from(path);
    let mut examples = Vec::new();
    for (line, content) in numbered_lines(path, bytes, mode)? {
        let origin = Origin {
            path: origin_path.clone(),
            line,
        };
        let Some((label, text)) = content.split_once('\t') else {
            return Err(origin.error("no tab: each line must be `label<TAB>text`"));
        };
        let label = label.trim();
        if label.is_empty() {
            return Err(origin.error("the label before the tab is empty"));
        }
        if text.is_empty() {
            return Err(origin.error("empty sequence: no text after the tab"));
        }
        examples.push(Example {
            sequence: RawSequence::Text(text.to_owned()),
            target: RawTarget::Label(label.to_owned()),
            origin,
        });
    }
    if examples
        .first()
        .is_some_and(|first| is_header(first, &examples))
    {
        examples.remove(0);
    }
    not_empty(path, examples)
}

/// Per-step labelling: each `labels<TAB>text` sample's labels read as one label per character
/// of its text (`ooxo` labels `abcd`), not as one label for the whole line. A count that differs
/// from the text's, or a sample that is not text, is an error naming its file and line.
pub fn per_step_labels(examples: Vec<Example>) -> Result<Vec<Example>> {
    examples
        .into_iter()
        .map(|mut example| {
            let steps = example.sequence.steps();
            match (&example.sequence, &example.target) {
                (RawSequence::Text(_), RawTarget::Label(labels)) => {
                    let labels: Vec<String> = labels.chars().map(String::from).collect();
                    if labels.len() != steps {
                        return Err(example.origin.error(format!(
                            "{} labels for {steps} characters: per-step labelling takes one label character per character of the text",
                            labels.len()
                        )));
                    }
                    example.target = RawTarget::Steps(labels);
                    Ok(example)
                }
                (_, RawTarget::Steps(_)) => Ok(example),
                _ => Err(example.origin.error(
                    "per-step labels come as `labels<TAB>text` lines, one label character per character of the text",
                )),
            }
        })
        .collect()
}

/// The names a header line gives the label column (`label<TAB>text`), compared ignoring case.
const LABEL_HEADERS: [&str; 8] = [
    "label",
    "labels",
    "class",
    "category",
    "target",
    "y",
    "tag",
    "sentiment",
];

/// Whether `first`, the first line, is a header: its label is a column name such as `label` or
/// `class`, and no other line has that label (as a class it would have this one sample).
fn is_header(first: &Example, examples: &[Example]) -> bool {
    let RawTarget::Label(label) = &first.target else {
        return false;
    };
    LABEL_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(label))
        && !examples[1..]
            .iter()
            .any(|e| e.target == RawTarget::Label(label.clone()))
}

/// Reads a directory with one file per class: the file's name without its extension is the
/// label, each of its non-blank lines a sample.
pub fn read_class_directory(dir: &Path, mode: SymbolMode) -> Result<Vec<Example>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut examples = Vec::new();
    for file in files {
        let label = file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let origin_path: Arc<Path> = Arc::from(file.as_path());
        for (line, text) in text_lines(&file, mode)? {
            examples.push(Example {
                sequence: RawSequence::Text(text),
                target: RawTarget::Label(label.clone()),
                origin: Origin {
                    path: origin_path.clone(),
                    line,
                },
            });
        }
    }
    not_empty(dir, examples)
}

/// Reads CSV rows `target,v1,v2,…` (rows may differ in length; a first row whose values are
/// not numbers is a header). `targets`: whether the first field is a number or a label.
pub fn read_numeric_csv(path: &Path, targets: TargetKind) -> Result<Vec<Example>> {
    numeric_csv(path, &read_limited(path, MAX_INPUT_BYTES)?, targets)
}

/// The samples of a numeric CSV file's `bytes`, read from `path`, as [`read_numeric_csv`].
pub fn numeric_csv(path: &Path, bytes: &[u8], targets: TargetKind) -> Result<Vec<Example>> {
    let origin_path: Arc<Path> = Arc::from(path);
    let mut examples = Vec::new();
    let mut header_seen = false;
    for (line, record) in csv_records(path, bytes)? {
        let origin = Origin {
            path: origin_path.clone(),
            line,
        };
        let fields: Vec<&str> = record.iter().collect();
        let fields = without_padding(&fields);
        let Some((&target, values)) = fields.split_first() else {
            continue;
        };
        // A header: a first row none of whose values is a number.
        let header = !header_seen
            && examples.is_empty()
            && !values.is_empty()
            && values.iter().all(|v| v.parse::<f32>().is_err());
        if header {
            header_seen = true;
            continue;
        }
        let numbers = numeric_values(values, 2, &origin)?;
        if numbers.is_empty() {
            return Err(origin.error("empty sequence: a target and no values"));
        }
        let target = match targets {
            TargetKind::Class => RawTarget::Label(target.to_owned()),
            TargetKind::Value => match target.parse::<f64>() {
                Ok(value) if value.is_finite() => RawTarget::Value(value),
                _ if examples.is_empty() => continue,
                _ => {
                    return Err(origin.error(format!(
                        "the target {target:?} is not a number (for labels, read the target as a class)"
                    )));
                }
            },
        };
        examples.push(Example {
            sequence: RawSequence::Numbers(numbers),
            target,
            origin,
        });
    }
    not_empty(path, examples)
}

/// A row's fields without the empty cells at its end: a spreadsheet pads a short row of a
/// ragged file with them.
pub fn without_padding<'a, 'b>(fields: &'a [&'b str]) -> &'a [&'b str] {
    let end = fields
        .iter()
        .rposition(|f| !f.is_empty())
        .map_or(0, |last| last + 1);
    &fields[..end]
}

/// The numbers of a row's `fields`, the first of them column `first_column` (1-based) in
/// messages: the one rule for training data and `predict`'s input. Each must be a finite
/// number; an empty cell before the last value is refused, since skipping it would shift every
/// later value one step in time.
pub fn numeric_values(fields: &[&str], first_column: usize, origin: &Origin) -> Result<Vec<f32>> {
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let column = index + first_column;
            if field.is_empty() {
                return Err(origin.error(format!(
                    "value {column} is empty: a missing value would shift every later one in time"
                )));
            }
            match field.parse::<f32>() {
                Ok(value) if value.is_finite() => Ok(value),
                Ok(_) => {
                    Err(origin.error(format!("value {column} ({field:?}) is not a finite number")))
                }
                Err(_) => Err(origin.error(format!("value {column} ({field:?}) is not a number"))),
            }
        })
        .collect()
}

fn not_empty(path: &Path, examples: Vec<Example>) -> Result<Vec<Example>> {
    if examples.is_empty() {
        return Err(data_error(path, None, "no sample in it"));
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    #[test]
    fn per_step_labels_are_one_per_character_or_a_clear_error() {
        let bytes = b"ab\txy\nba\tx\n";
        let examples = labelled_lines(Path::new("tags.tsv"), bytes, SymbolMode::Text).unwrap();
        let error = per_step_labels(examples.clone()).unwrap_err().to_string();
        assert!(
            error.contains("tags.tsv:2") && error.contains("2 labels for 1 characters"),
            "{error}"
        );
        let first = per_step_labels(vec![examples[0].clone()]).unwrap();
        assert_eq!(
            first[0].target,
            RawTarget::Steps(vec!["a".into(), "b".into()])
        );
        let numbers = Example {
            sequence: RawSequence::Numbers(vec![1.0]),
            ..examples[0].clone()
        };
        let error = per_step_labels(vec![numbers]).unwrap_err().to_string();
        assert!(error.contains("labels<TAB>text"), "{error}");
    }

    use super::*;

    fn file(name: &str, contents: &[u8]) -> PathBuf {
        // A directory per file name: tests run at once, and each wipes its own.
        let path = crate::durable::scratch(&format!("data-{name}")).join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Each bad file's error names its line (`name:line:`) and says what is wrong: labelled
    /// lines (`.tsv`) and numeric rows (`.csv`).
    #[test]
    fn bad_lines_are_named() {
        let cases: [(&str, &[u8], usize, &str); 11] = [
            ("bad.tsv", b"pos\tok\nno tab here\n", 2, "no tab"),
            ("bad.tsv", b"pos\t\n", 1, "empty sequence"),
            ("bad.tsv", b"\tok\n", 1, "label"),
            ("bad.tsv", b"a\tok\nb\t\xff\n", 2, "UTF-8"),
            ("bad.csv", b"1,2,3\n2,x,4\n", 2, "value 2"),
            ("bad.csv", b"1,2\n3\n", 2, "empty sequence"),
            ("bad.csv", b"1,2\nup,3\n", 2, "not a number"),
            ("bad.csv", b"1,2\n2,inf\n", 2, "not a finite number"),
            (
                "bad.csv",
                b"1,2\n2,nan,3\n",
                2,
                "value 2 (\"nan\") is not a finite",
            ),
            // An empty cell inside a row would shift the values after it; at its end it pads.
            ("bad.csv", b"1,2,3\n2,4,,5\n", 2, "value 3 is empty"),
            ("bad.csv", b"1,2,3,,\n2,,\n", 2, "empty sequence"),
        ];
        for (name, contents, line, says) in cases {
            let path = file(name, contents);
            let read = if name.ends_with(".tsv") {
                read_labelled_lines(&path, SymbolMode::Text)
            } else {
                read_numeric_csv(&path, TargetKind::Value)
            };
            let error = read.expect_err("an error").to_string();
            assert!(error.contains(&format!("{name}:{line}:")), "{error}");
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn a_header_line_is_not_a_sample() {
        let read = |text: &[u8]| read_labelled_lines(&file("header.tsv", text), SymbolMode::Text);
        let examples = read(b"Label\ttext\npos\tgood\nneg\tbad\n").unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].origin.line, 2);
        // A label that other lines share is a class, not a header.
        assert_eq!(read(b"y\tyes\nn\tno\ny\tyep\n").unwrap().len(), 3);
        // Any other first line is a sample.
        assert_eq!(read(b"pos\ttext\nneg\tbad\n").unwrap().len(), 2);
    }

    #[test]
    fn labelled_lines_are_read() {
        let path = file("good.tsv", b"pos\tgreat film\r\n\nneg\tdull\tand long\n");
        let examples = read_labelled_lines(&path, SymbolMode::Text).unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[1].target, RawTarget::Label("neg".into()));
        assert_eq!(
            examples[1].sequence,
            RawSequence::Text("dull\tand long".into())
        );
        assert_eq!(examples[1].origin.line, 3);
        let bytes = read_labelled_lines(&file("bytes.tsv", b"a\t\xff\xfe\n"), SymbolMode::Bytes);
        assert_eq!(bytes.unwrap()[0].sequence.steps(), 2);
    }

    #[test]
    fn numeric_rows_of_any_length_with_an_optional_header() {
        let path = file(
            "values.csv",
            b"target,x1,x2\n1.5,1,2,3\n-2,4\n# a comment\n0,5,6\n",
        );
        let examples = read_numeric_csv(&path, TargetKind::Value).unwrap();
        assert_eq!(examples.len(), 3);
        assert_eq!(examples[0].target, RawTarget::Value(1.5));
        assert_eq!(
            examples[0].sequence,
            RawSequence::Numbers(vec![1.0, 2.0, 3.0])
        );
        assert_eq!(examples[1].origin.line, 3);
        let classes = read_numeric_csv(&file("c.csv", b"up,1,2\ndown,3\n"), TargetKind::Class);
        assert_eq!(classes.unwrap()[1].target, RawTarget::Label("down".into()));
        let empty = read_numeric_csv(&file("empty.csv", b"\n"), TargetKind::Value);
        assert!(empty.unwrap_err().to_string().contains("no sample"));
    }

    #[test]
    fn a_directory_gives_one_class_per_file() {
        let dir = crate::durable::scratch("classes");
        std::fs::write(dir.join("spam.txt"), "win now\nfree money\n").unwrap();
        std::fs::write(dir.join("ham.txt"), "see you at noon\n").unwrap();
        let examples = read_class_directory(&dir, SymbolMode::Text).unwrap();
        let labels: Vec<_> = examples.iter().map(|e| e.target.clone()).collect();
        assert_eq!(
            labels,
            ["ham", "spam", "spam"].map(|l| RawTarget::Label(l.into()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
