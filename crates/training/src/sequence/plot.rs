//! A classifier's confusion matrix as a PNG heat map (feature `plot`, on by default; without it
//! nothing is drawn).

use std::path::Path;

#[cfg(feature = "plot")]
use plotters::prelude::*;

use super::scores::ClassificationScores;
use crate::error::Result;
#[cfg(feature = "plot")]
use crate::error::io_error;
#[cfg(feature = "plot")]
use crate::plot::register_font;

/// Draws a classifier's confusion matrix as a heat map: rows the true class, columns the
/// predicted one, each cell shaded by the fraction of its row and labelled with its count.
#[cfg(feature = "plot")]
pub fn plot_confusion(scores: &ClassificationScores, path: &Path) -> Result<()> {
    register_font();
    let classes = scores.classes.len();
    let cell = (640 / classes.max(1)).clamp(8, 80) as i32;
    let label_width = 12
        + 8 * scores
            .classes
            .iter()
            .map(|c| c.label.chars().count().min(24))
            .max()
            .unwrap_or(4) as i32;
    let side = cell * classes as i32;
    let (width, height) = (label_width + side + 20, label_width + side + 50);
    let draw = || -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(path, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let title = format!(
            "confusion: rows true, columns predicted (accuracy {:.1} %)",
            100.0 * scores.accuracy
        );
        root.draw(&Text::new(title, (10, 8), ("sans-serif", 15)))?;
        let (left, top) = (label_width, label_width + 30);
        for (t, row) in scores.confusion.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            for (p, &count) in row.iter().enumerate() {
                let share = count as f64 / total;
                let shade = (255.0 * (1.0 - share)) as u8;
                let (x, y) = (left + p as i32 * cell, top + t as i32 * cell);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(shade, shade, 255).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    BLACK.mix(0.2),
                ))?;
                if cell >= 24 {
                    let color = if share > 0.5 { WHITE } else { BLACK };
                    let text = ("sans-serif", 12).into_font().color(&color);
                    root.draw(&Text::new(
                        count.to_string(),
                        (x + 4, y + cell / 2 - 6),
                        text,
                    ))?;
                }
            }
        }
        for (k, class) in scores.classes.iter().enumerate() {
            let label: String = class.label.chars().take(24).collect();
            let y = top + k as i32 * cell + cell / 2 - 6;
            root.draw(&Text::new(label.clone(), (6, y), ("sans-serif", 12)))?;
            let x = left + k as i32 * cell + cell / 2 - 6;
            let vertical = ("sans-serif", 12)
                .into_font()
                .transform(FontTransform::Rotate270);
            root.draw(&Text::new(label, (x, top - 4), vertical))?;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| io_error(path, std::io::Error::other(e.to_string())))
}

/// Without the `plot` feature: draws nothing.
#[cfg(not(feature = "plot"))]
pub fn plot_confusion(_scores: &ClassificationScores, _path: &Path) -> Result<()> {
    Ok(())
}
