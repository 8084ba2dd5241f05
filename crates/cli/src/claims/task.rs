//! What every claim's training task shares.

/// A claim's training task's `resume` and `save`: its runs are never resumed (each starts
/// afresh in its own directory), and its checkpoints hold the model alone.
macro_rules! fresh_runs {
    ($model:ty, $validation:ty) => {
        fn resume(
            &mut self,
            _device: &Device,
        ) -> unroll::training::Result<Option<unroll::training::trainer::Resumed<$model, $validation>>>
        {
            Ok(None)
        }

        fn save(
            &self,
            out: &std::path::Path,
            which: unroll::training::Which,
            snapshot: &unroll::training::trainer::Snapshot<'_, $model, $validation>,
        ) -> unroll::training::Result<std::path::PathBuf> {
            unroll::training::checkpoint::save_snapshot(out, which, snapshot, Vec::new())
        }
    };
}
pub(super) use fresh_runs;
