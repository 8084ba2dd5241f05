//! Token and class ids: whether a model checks their range, and the check.

use burn::config::Config;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::error::ModelError;

/// Whether a model reads token and class ids back from the device to check their range.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum IdCheck {
    /// Every call reads its ids to the host and names an id outside the vocabulary or the
    /// classes: a clear error, at the price of a device-to-host read per call (on a GPU, a
    /// synchronisation that stalls the queue).
    EveryCall,
    /// The caller checked the ids where it made them (on the host, once): the model reads
    /// nothing back. An id out of range is then the backend's to deal with (a panic on the CPU
    /// backends, an undefined row on a GPU).
    Caller,
}

/// Checks that every id in `ids` lies in `0..count`, unless the caller checked them
/// ([`IdCheck::Caller`]). Reads the ids to the host: a few bytes per step, where an id out of
/// range would otherwise stop the program inside a kernel.
pub(crate) fn require_ids_below<B: Backend, const D: usize>(
    what: &'static str,
    ids: &Tensor<B, D, Int>,
    count: usize,
    id_check: IdCheck,
) -> crate::error::Result<()> {
    if id_check == IdCheck::Caller {
        return Ok(());
    }
    let data = ids.clone().into_data();
    match data
        .iter::<i64>()
        .find(|&id| id < 0 || id as u64 >= count as u64)
    {
        Some(id) => Err(ModelError::IdOutOfRange { what, id, count }),
        None => Ok(()),
    }
}
