//! A corpus as a sequence of symbol ids, its vocabulary, and the train/validation split.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::durable::{MAX_INPUT_BYTES, read_limited, sha256_hex};
use crate::error::{Result, TrainingError, data_error};
use crate::settings::check_validation_fraction;

/// The byte-order mark some editors put at the start of UTF-8 files: not part of the text.
const BYTE_ORDER_MARK: &str = "\u{FEFF}";

/// Where a run's data came from, recorded in its checkpoints: resuming without naming the data
/// reads the same file, and a file that changed since is noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// The file, or `None` for data built into the program.
    pub path: Option<PathBuf>,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

impl DataSource {
    /// Describes `bytes` read from `path` (`None`: built-in data).
    pub fn of(path: Option<&Path>, bytes: &[u8]) -> Self {
        DataSource {
            path: path.map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        }
    }
}

/// Text mode's view of a file's bytes: UTF-8, without a leading byte-order mark.
pub fn utf8_text(bytes: &[u8]) -> Result<&str> {
    let text = std::str::from_utf8(bytes).map_err(|error| TrainingError::InvalidUtf8 {
        offset: error.valid_up_to(),
    })?;
    Ok(text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text))
}

/// The lines of a text file's `bytes`, read from `path`, numbered from 1 and without their
/// line ends; blank lines are skipped. Invalid UTF-8 in text mode is an error naming its line.
pub fn numbered_lines(path: &Path, bytes: &[u8], mode: SymbolMode) -> Result<Vec<(usize, String)>> {
    let text = match mode {
        SymbolMode::Text => utf8_text(bytes)
            .map_err(|_| {
                let valid = std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| 0);
                let line = bytes[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
                data_error(
                    path,
                    Some(line),
                    "not valid UTF-8 (use byte mode, --bytes, for data that is not text)",
                )
            })?
            .to_owned(),
        // Byte mode keeps every byte as the char of the same value (U+0000–U+00FF), so that a
        // line's chars are its bytes.
        SymbolMode::Bytes => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    Ok(text
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line).to_owned()))
        .filter(|(_, line)| !line.trim().is_empty())
        .collect())
}

/// How the bytes of a corpus become symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolMode {
    /// UTF-8 text; a symbol is a Unicode scalar value.
    Text,
    /// Any data; a symbol is a byte.
    Bytes,
}

/// The symbols a model reads and writes, each with an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Vocabulary {
    /// The distinct characters of a text, sorted by code point; the id is the position.
    Text {
        /// The characters, sorted.
        symbols: Vec<char>,
        /// Whether the id after the last symbol's stands for every other character: the
        /// unknown symbol, which a model learns from the characters too rare to have their own
        /// id in training, and which reads any character it never saw. Without it (a checkpoint
        /// from before it existed) an unknown character is an error.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unknown: bool,
    },
    /// All 256 byte values; the id is the byte.
    Bytes,
}

/// How an unknown character is written where ids are shown as text: U+FFFD, the replacement
/// character.
pub const UNKNOWN_SHOWN: char = '\u{FFFD}';

impl Vocabulary {
    /// The sorted distinct characters of `text`.
    pub fn from_text(text: &str) -> Result<Self> {
        let distinct: std::collections::BTreeSet<char> = text.chars().collect();
        let symbols: Vec<char> = distinct.into_iter().collect();
        if symbols.is_empty() {
            return Err(TrainingError::EmptyCorpus);
        }
        Ok(Vocabulary::Text {
            symbols,
            unknown: false,
        })
    }

    /// The characters of `texts` that occur at least `min_count` times, and the unknown symbol
    /// for every other character (the rarer ones among them, so that the model learns it).
    pub fn with_unknown<'a>(texts: impl IntoIterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: std::collections::BTreeMap<char, usize> = Default::default();
        for c in texts.into_iter().flat_map(str::chars) {
            *counts.entry(c).or_default() += 1;
        }
        Vocabulary::Text {
            symbols: (counts.into_iter())
                .filter(|&(_, n)| n >= min_count)
                .map(|(c, _)| c)
                .collect(),
            unknown: true,
        }
    }

    /// Checks what ids rely on: text symbols sorted and distinct (a vocabulary read from a file
    /// may have been edited). The reason, when not.
    pub fn check(&self) -> std::result::Result<(), String> {
        match self {
            Vocabulary::Text {
                symbols,
                unknown: false,
            } if symbols.is_empty() => Err("no symbol".into()),
            Vocabulary::Text { symbols, .. } => match symbols.windows(2).find(|w| w[0] >= w[1]) {
                Some(w) => Err(format!(
                    "symbols {:?} and {:?} are out of order or repeated: ids would map to the wrong symbols",
                    w[0], w[1]
                )),
                None => Ok(()),
            },
            Vocabulary::Bytes => Ok(()),
        }
    }

    /// Number of symbols, the unknown symbol included.
    pub fn len(&self) -> usize {
        match self {
            Vocabulary::Text { symbols, unknown } => symbols.len() + usize::from(*unknown),
            Vocabulary::Bytes => 256,
        }
    }

    /// Whether the vocabulary has no symbol (never true for a built vocabulary).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unknown symbol's id, where there is one.
    pub fn unknown_id(&self) -> Option<u32> {
        match self {
            Vocabulary::Text {
                symbols,
                unknown: true,
            } => Some(symbols.len() as u32),
            _ => None,
        }
    }

    /// The id of character `c` (text mode): its own, else the unknown symbol's; `None` when it
    /// has neither.
    pub fn id_of(&self, c: char) -> Option<u32> {
        match self {
            Vocabulary::Text { symbols, .. } => symbols
                .binary_search(&c)
                .ok()
                .map(|id| id as u32)
                .or_else(|| self.unknown_id()),
            Vocabulary::Bytes => u8::try_from(c).ok().map(u32::from),
        }
    }

    /// How many characters of `text` this vocabulary reads as the unknown symbol (text mode;
    /// none in byte mode, which reads every byte).
    pub fn unknown_in(&self, text: &str) -> usize {
        match self {
            Vocabulary::Text { symbols, .. } => text
                .chars()
                .filter(|c| symbols.binary_search(c).is_err())
                .count(),
            Vocabulary::Bytes => 0,
        }
    }

    /// The ids of the symbols of `text` (its UTF-8 bytes in byte mode).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Vocabulary::Text { .. } => text
                .chars()
                .map(|c| {
                    self.id_of(c).ok_or_else(|| TrainingError::UnknownSymbol {
                        symbol: c.to_string(),
                    })
                })
                .collect(),
            Vocabulary::Bytes => Ok(text.bytes().map(u32::from).collect()),
        }
    }

    /// The text of a sequence of ids; in byte mode invalid UTF-8 is shown as U+FFFD, and so is
    /// the unknown symbol.
    pub fn decode(&self, ids: &[u32]) -> String {
        match self {
            Vocabulary::Text { symbols, .. } => ids
                .iter()
                .map(|&id| symbols.get(id as usize).copied().unwrap_or(UNKNOWN_SHOWN))
                .collect(),
            Vocabulary::Bytes => {
                let bytes: Vec<u8> = ids.iter().map(|&id| id.min(255) as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    }
}

/// The fewest symbols a corpus needs so that, split at `fraction`, its training part holds
/// `training` symbols and its validation part `validation`.
pub fn shortest_corpus(fraction: f64, training: usize, validation: usize) -> usize {
    // A lower bound, then a short scan past the rounding of the boundary.
    let start = (training as f64 / (1.0 - fraction)).max(validation as f64 / fraction);
    let start = (start as usize)
        .saturating_sub(2)
        .max(training + validation);
    (start..)
        .find(|&n| {
            let boundary = (n as f64 * (1.0 - fraction)) as usize;
            boundary >= training && n - boundary >= validation
        })
        .unwrap_or(usize::MAX)
}

/// A corpus: its vocabulary and the id of every symbol in order.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The symbols.
    pub vocabulary: Vocabulary,
    /// The whole corpus as ids.
    pub ids: Vec<u32>,
}

impl Corpus {
    /// Builds a corpus from raw bytes (in text mode, a leading byte-order mark is skipped).
    pub fn from_bytes(bytes: &[u8], mode: SymbolMode) -> Result<Self> {
        if bytes.is_empty() {
            return Err(TrainingError::EmptyCorpus);
        }
        match mode {
            SymbolMode::Text => {
                let text = utf8_text(bytes)?;
                let vocabulary = Vocabulary::from_text(text)?;
                let ids = vocabulary.encode(text)?;
                Ok(Corpus { vocabulary, ids })
            }
            SymbolMode::Bytes => Ok(Corpus {
                vocabulary: Vocabulary::Bytes,
                ids: bytes.iter().map(|&b| u32::from(b)).collect(),
            }),
        }
    }

    /// Builds a corpus from raw bytes as [`Corpus::from_bytes`], but a text's vocabulary has the
    /// unknown symbol, which the characters seen fewer than `min_count` times read as
    /// ([`Vocabulary::with_unknown`]).
    pub fn with_unknown(bytes: &[u8], mode: SymbolMode, min_count: usize) -> Result<Self> {
        if bytes.is_empty() {
            return Err(TrainingError::EmptyCorpus);
        }
        match mode {
            SymbolMode::Text => {
                let text = utf8_text(bytes)?;
                let vocabulary = Vocabulary::with_unknown([text], min_count);
                let ids = vocabulary.encode(text)?;
                Ok(Corpus { vocabulary, ids })
            }
            SymbolMode::Bytes => Self::from_bytes(bytes, mode),
        }
    }

    /// Encodes raw bytes with an existing vocabulary (a checkpoint's), in its mode.
    pub fn encode_with(bytes: &[u8], vocabulary: &Vocabulary) -> Result<Self> {
        if bytes.is_empty() {
            return Err(TrainingError::EmptyCorpus);
        }
        let ids = match vocabulary {
            Vocabulary::Bytes => bytes.iter().map(|&b| u32::from(b)).collect(),
            vocabulary => vocabulary.encode(utf8_text(bytes)?)?,
        };
        Ok(Corpus {
            vocabulary: vocabulary.clone(),
            ids,
        })
    }

    /// Reads a corpus file (at most [`MAX_INPUT_BYTES`]).
    pub fn read(path: &Path, mode: SymbolMode) -> Result<Self> {
        Self::from_bytes(&read_limited(path, MAX_INPUT_BYTES)?, mode)
    }

    /// Splits into training and validation symbols: validation is the last `fraction`, from
    /// index `⌊(1 − fraction)·N⌋` on (with 0.1, nanoGPT's split, so losses compare). Both parts
    /// must hold at least `minimum` symbols.
    pub fn split(&self, fraction: f64, minimum: usize) -> Result<(&[u32], &[u32])> {
        check_validation_fraction(fraction)?;
        let boundary = (self.ids.len() as f64 * (1.0 - fraction)) as usize;
        let (train, validation) = self.ids.split_at(boundary);
        if train.len() < minimum || validation.len() < minimum {
            let needed = shortest_corpus(fraction, minimum, minimum);
            return Err(TrainingError::CorpusTooShort {
                needed,
                why: format!(
                    "its first {:.0} % trains and its last {:.0} % validates, each needing at least {minimum}",
                    100.0 * (1.0 - fraction),
                    100.0 * fraction
                ),
                actual: self.ids.len(),
            });
        }
        Ok((train, validation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_vocabulary_is_sorted_and_round_trips() {
        let corpus = Corpus::from_bytes("héllo, wörld".as_bytes(), SymbolMode::Text).unwrap();
        let Vocabulary::Text { symbols, .. } = &corpus.vocabulary else {
            panic!("text mode")
        };
        let mut sorted = symbols.clone();
        sorted.sort();
        assert_eq!(symbols, &sorted);
        assert_eq!(symbols.len(), 10);
        assert_eq!(corpus.ids.len(), 12, "one id per character, not per byte");
        assert_eq!(corpus.vocabulary.decode(&corpus.ids), "héllo, wörld");
        assert!(matches!(
            corpus.vocabulary.encode("x"),
            Err(TrainingError::UnknownSymbol { .. })
        ));
    }

    #[test]
    fn the_unknown_symbol_stands_for_rare_and_unseen_characters() {
        let vocabulary = Vocabulary::with_unknown(["aab", "bbc"], 2);
        // a and b occur twice or more, c once: c is unknown, and so is any unseen character.
        assert_eq!(vocabulary.len(), 3);
        assert_eq!(vocabulary.unknown_id(), Some(2));
        assert_eq!(vocabulary.encode("abcz").unwrap(), [0, 1, 2, 2]);
        assert_eq!(vocabulary.unknown_in("abcz"), 2);
        assert_eq!(vocabulary.decode(&[0, 2]), "a\u{FFFD}");
        // Stored with its unknown symbol; a vocabulary without one (an older checkpoint's)
        // reads as before, and refuses an unknown character.
        let json = serde_json::to_string(&vocabulary).unwrap();
        assert!(json.contains("\"unknown\":true"), "{json}");
        let old: Vocabulary =
            serde_json::from_str(r#"{"mode":"text","symbols":["a","b"]}"#).unwrap();
        assert_eq!(old.len(), 2);
        assert!(old.encode("c").is_err());
        let exact = Vocabulary::from_text("ab").unwrap();
        assert!(!serde_json::to_string(&exact).unwrap().contains("unknown"));
    }

    #[test]
    fn bad_corpora_are_rejected() {
        assert!(matches!(
            Corpus::from_bytes(b"", SymbolMode::Text),
            Err(TrainingError::EmptyCorpus)
        ));
        assert!(matches!(
            Corpus::from_bytes(&[b'a', 0xff, b'b'], SymbolMode::Text),
            Err(TrainingError::InvalidUtf8 { offset: 1 })
        ));
        let bytes = Corpus::from_bytes(&[b'a', 0xff, b'b'], SymbolMode::Bytes).unwrap();
        assert_eq!(bytes.ids, [97, 255, 98]);
        assert!(matches!(
            Corpus::read(Path::new("/nonexistent/corpus.txt"), SymbolMode::Text),
            Err(TrainingError::Io { .. })
        ));
    }

    #[test]
    fn split_keeps_the_last_tenth_for_validation() {
        let corpus = Corpus::from_bytes(&[b'a'; 1005], SymbolMode::Bytes).unwrap();
        let (train, validation) = corpus.split(0.1, 10).unwrap();
        assert_eq!(train.len(), 904, "⌊0.9 · 1005⌋");
        assert_eq!(validation.len(), 101);
        assert!(matches!(
            corpus.split(0.1, 200),
            Err(TrainingError::CorpusTooShort { .. })
        ));
        assert!(corpus.split(1.0, 1).is_err());
        assert!(corpus.split(0.0, 1).is_err());
    }
}
