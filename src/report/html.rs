//! The HTML pages, one path for all: [`page`] renders a template of `templates/` with the one
//! escaper. `report.html`: one self-contained file (inline CSS, a little inline JavaScript for sorting and
//! filtering, inline SVG charts; nothing fetched from anywhere), rendered with tera from the
//! template in `templates/`, which is compiled into the binary.

use super::chart;
use super::model::ReportModel;

const TEMPLATE: &str = include_str!("../../templates/report.html");
const NAME: &str = crate::files::REPORT_HTML;

#[derive(serde::Serialize)]
struct Charts {
    severity_title: String,
    severity: String,
    controls_title: String,
    controls: String,
    trend_title: String,
    trend: String,
}

pub fn render(model: &ReportModel) -> Vec<u8> {
    let severity = chart::severity_chart(model);
    let controls = chart::controls_chart(model);
    let trend = chart::trend_chart(model);
    let charts = Charts {
        severity_title: severity.title.clone(),
        severity: chart::to_svg(&severity),
        controls_title: controls.title.clone(),
        controls: chart::to_svg(&controls),
        trend_title: trend.as_ref().map(|c| c.title.clone()).unwrap_or_default(),
        trend: trend.as_ref().map(chart::to_svg).unwrap_or_default(),
    };
    let mut context = tera::Context::new();
    context.insert("m", model);
    context.insert("charts", &charts);
    page(NAME, TEMPLATE, &context).into_bytes()
}

/// Every HTML page the tool writes (the report, the cluster's index, plain documents) is one of
/// the templates in `templates/`, rendered here: escaped with [`super::escape::html`].
pub(crate) fn page(name: &str, template: &str, context: &tera::Context) -> String {
    let mut tera = tera::Tera::new();
    super::escape::configure(&mut tera);
    // The templates are part of the binary and covered by tests: failing here is a bug, not input.
    tera.add_raw_template(name, template)
        .unwrap_or_else(|e| panic!("the template {name} parses: {e}"));
    tera.render(name, context)
        .unwrap_or_else(|e| panic!("the template {name} renders: {e}"))
}
