//! How pairs become ids: the source's vocabulary, and the target's with two symbols of its own,
//! `end`, written after a target's last symbol, and `start`, fed as `y(0)`. Both vocabularies
//! have the unknown symbol, so a character never seen in training reads as it.

use serde::{Deserialize, Serialize};

use super::data::Pair;
use crate::corpus::Vocabulary;
use crate::error::Result;

/// The two vocabularies of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairEncoding {
    /// The characters of the sources.
    pub source: Vocabulary,
    /// The characters of the targets (the decoder's ids: these, then `end`, then `start`).
    pub target: Vocabulary,
}

/// Pairs as ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedPairs {
    /// Each source's ids.
    pub sources: Vec<Vec<u32>>,
    /// Each target's ids, `end` last.
    pub targets: Vec<Vec<u32>>,
    /// Characters read as the unknown symbol, in the sources and in the targets.
    pub unknown: [usize; 2],
}

impl EncodedPairs {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The pairs `indices` pick, in that order.
    pub fn select(&self, indices: &[usize]) -> EncodedPairs {
        EncodedPairs {
            sources: indices.iter().map(|&i| self.sources[i].clone()).collect(),
            targets: indices.iter().map(|&i| self.targets[i].clone()).collect(),
            unknown: [0, 0],
        }
    }
}

impl PairEncoding {
    /// The vocabularies of `pairs`: characters seen at least `min_count` times, and the unknown
    /// symbol for every other.
    pub fn fit(pairs: &[Pair], min_count: usize) -> Self {
        PairEncoding {
            source: Vocabulary::with_unknown(pairs.iter().map(|p| p.source.as_str()), min_count),
            target: Vocabulary::with_unknown(pairs.iter().map(|p| p.target.as_str()), min_count),
        }
    }

    /// Checks what ids rely on (a vocabulary read from a file may have been edited).
    pub fn check(&self) -> std::result::Result<(), String> {
        for (what, vocabulary) in [("source", &self.source), ("target", &self.target)] {
            vocabulary
                .check()
                .map_err(|e| format!("{what} vocabulary: {e}"))?;
            if vocabulary.unknown_id().is_none() {
                return Err(format!("{what} vocabulary: no unknown symbol"));
            }
        }
        Ok(())
    }

    /// The encoder's input size.
    pub fn source_symbols(&self) -> usize {
        self.source.len()
    }

    /// The decoder's input and output size: the target's symbols, `end` and `start`.
    pub fn target_symbols(&self) -> usize {
        self.target.len() + 2
    }

    /// The id written after a target's last symbol.
    pub fn end(&self) -> u32 {
        self.target.len() as u32
    }

    /// The id fed as `y(0)`.
    pub fn start(&self) -> u32 {
        self.target.len() as u32 + 1
    }

    /// The ids of `pairs`, each target ended by `end`.
    pub fn encode(&self, pairs: &[Pair]) -> Result<EncodedPairs> {
        let mut encoded = EncodedPairs::default();
        for pair in pairs {
            encoded.sources.push(self.source.encode(&pair.source)?);
            let mut target = self.target.encode(&pair.target)?;
            target.push(self.end());
            encoded.targets.push(target);
            encoded.unknown[0] += self.source.unknown_in(&pair.source);
            encoded.unknown[1] += self.target.unknown_in(&pair.target);
        }
        Ok(encoded)
    }

    /// The ids of sources alone (what `translate` reads), and how many characters read as the
    /// unknown symbol.
    pub fn encode_sources<'a>(
        &self,
        sources: impl IntoIterator<Item = &'a str>,
    ) -> Result<(Vec<Vec<u32>>, usize)> {
        let mut unknown = 0;
        let ids = sources
            .into_iter()
            .map(|source| {
                unknown += self.source.unknown_in(source);
                self.source.encode(source)
            })
            .collect::<Result<_>>()?;
        Ok((ids, unknown))
    }

    /// The text of decoder output ids, up to the first `end` (`start` never written).
    pub fn decode_target(&self, ids: &[u32]) -> String {
        let end = ids
            .iter()
            .position(|&id| id >= self.end())
            .unwrap_or(ids.len());
        self.target.decode(&ids[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(source: &str, target: &str) -> Pair {
        Pair {
            source: source.into(),
            target: target.into(),
            line: None,
        }
    }

    #[test]
    fn targets_end_with_end_and_unseen_characters_read_as_unknown() {
        let pairs = [pair("abc", "cba"), pair("ab", "ba"), pair("ca", "ac")];
        let encoding = PairEncoding::fit(&pairs, 1);
        encoding.check().unwrap();
        // a, b, c and the unknown symbol; then end and start.
        assert_eq!(encoding.target_symbols(), 6);
        assert_eq!((encoding.end(), encoding.start()), (4, 5));
        let encoded = encoding.encode(&pairs).unwrap();
        assert_eq!(encoded.targets[1], vec![1, 0, 4]);
        assert_eq!(encoding.decode_target(&encoded.targets[0]), "cba");
        let (ids, unknown) = encoding.encode_sources(["abz"]).unwrap();
        assert_eq!((ids[0].clone(), unknown), (vec![0, 1, 3], 1));
        let edited = PairEncoding {
            source: Vocabulary::Text {
                symbols: vec!['b', 'a'],
                unknown: true,
            },
            ..encoding
        };
        assert!(edited.check().unwrap_err().contains("source vocabulary"));
    }
}
