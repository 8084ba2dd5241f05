//! Pictures as PNG: the loss curve (training and validation loss against iterations) and lines
//! with their spread (a forecast's error by horizon); a task's own pictures (a classifier's
//! confusion matrix, `sequence/plot.rs`) draw with the same font (feature `plot`, on by
//! default; without it no picture is drawn and these functions do nothing).

use std::path::Path;

#[cfg(feature = "plot")]
use plotters::prelude::*;

use crate::error::Result;
#[cfg(feature = "plot")]
use crate::error::io_error;
use crate::metrics::IterationMetrics;
use crate::validation::Validation;

#[cfg(feature = "plot")]
pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An embedded font, so the picture needs no system font library.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Draws training loss and validation loss against iterations, as a PNG.
#[cfg(feature = "plot")]
pub fn plot_losses<V: Validation>(history: &[IterationMetrics<V>], path: &Path) -> Result<()> {
    register_font();
    let training: Vec<(f64, f64)> = history
        .iter()
        .filter(|m| m.loss.is_finite())
        .map(|m| (m.iteration as f64, m.loss))
        .collect();
    let validation: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|m| {
            m.validation
                .as_ref()
                .map(|v| (m.iteration as f64, v.loss()))
        })
        .collect();
    if training.is_empty() {
        return Ok(());
    }
    let x_max = training
        .iter()
        .chain(&validation)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let y_values = training.iter().chain(&validation).map(|p| p.1);
    let y_max = y_values.clone().fold(f64::MIN, f64::max) * 1.05;
    let y_min = y_values.fold(f64::MAX, f64::min).min(y_max) * 0.95;
    let frame = Frame {
        title: "loss",
        axes: ["iteration", "loss per item"],
        x: 0.0..x_max,
        y: y_min..y_max,
        whole_x: true,
    };
    draw_chart(path, frame, |chart| {
        chart
            .draw_series(LineSeries::new(training.iter().copied(), &BLUE))?
            .label("training (batch)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        if !validation.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    validation.iter().copied(),
                    RED.stroke_width(2),
                ))?
                .label("validation")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
            chart.draw_series(validation.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
        }
        Ok(())
    })
}

/// A chart's frame: its title, axis labels and ranges; `whole_x`: x labels without decimals.
#[cfg(feature = "plot")]
struct Frame<'a> {
    title: &'a str,
    axes: [&'a str; 2],
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    whole_x: bool,
}

/// The chart every line plot draws on.
#[cfg(feature = "plot")]
type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws `frame`, then `series` on it, then the legend, as a PNG at `path`.
#[cfg(feature = "plot")]
fn draw_chart(
    path: &Path,
    frame: Frame<'_>,
    series: impl FnOnce(&mut Chart<'_, '_>) -> std::result::Result<(), Box<dyn std::error::Error>>,
) -> Result<()> {
    let draw = || -> std::result::Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, ("sans-serif", 22))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(frame.x, frame.y)?;
        let whole = |x: &f64| format!("{x:.0}");
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(frame.axes[0])
            .y_desc(frame.axes[1])
            .label_style(("sans-serif", 14));
        if frame.whole_x {
            mesh.x_label_formatter(&whole);
        }
        mesh.draw()?;
        series(&mut chart)?;
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| io_error(path, std::io::Error::other(e.to_string())))
}

/// Without the `plot` feature: draws nothing.
#[cfg(not(feature = "plot"))]
pub fn plot_losses<V: Validation>(_history: &[IterationMetrics<V>], _path: &Path) -> Result<()> {
    Ok(())
}

/// One line of a [`plot_lines`] chart: its name, its points and, optionally, a band around it
/// (`(x, low, high)`, e.g. the spread over seeds).
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// The legend's label.
    pub name: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// `(x, low, high)`: a shaded band, drawn under the line.
    pub band: Vec<(f64, f64, f64)>,
}

/// Draws lines (with their bands) on one chart, as a PNG: `title`, axes labelled `x` and `y`.
#[cfg(feature = "plot")]
pub fn plot_lines(lines: &[Line], title: &str, [x, y]: [&str; 2], path: &Path) -> Result<()> {
    register_font();
    let xs = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| p.0)
            .chain(l.band.iter().map(|b| b.0))
    });
    let ys = lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| p.1)
            .chain(l.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let finite = |v: &f64| v.is_finite();
    let (x_min, x_max) = xs
        .filter(finite)
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (y_min, y_max) = ys
        .filter(finite)
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if x_min > x_max {
        return Ok(());
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-9);
    let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
    let colours = [
        BLUE,
        RED,
        RGBColor(0, 140, 0),
        MAGENTA,
        RGBColor(230, 140, 0),
        CYAN,
        BLACK,
    ];
    let frame = Frame {
        title,
        axes: [x, y],
        x: x_min..x_max,
        y: (y_min - pad)..(y_max + pad),
        whole_x: false,
    };
    draw_chart(path, frame, |chart| {
        for (k, line) in lines.iter().enumerate() {
            let colour = colours[k % colours.len()];
            if !line.band.is_empty() {
                let outline: Vec<(f64, f64)> = line
                    .band
                    .iter()
                    .map(|b| (b.0, b.2))
                    .chain(line.band.iter().rev().map(|b| (b.0, b.1)))
                    .collect();
                chart.draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.15))))?;
            }
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        Ok(())
    })
}

/// Without the `plot` feature: draws nothing.
#[cfg(not(feature = "plot"))]
pub fn plot_lines(_lines: &[Line], _title: &str, _axes: [&str; 2], _path: &Path) -> Result<()> {
    Ok(())
}
