//! Errors that point into a file: `file:line:col`, the problem, and the
//! offending line with a caret under it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{Level, Renderer, Snippet};

/// A problem at a place in a text file the user wrote.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    path: PathBuf,
    text: Arc<str>,
    span: Range<usize>,
    message: String,
    label: String,
}

impl Diagnostic {
    /// A problem `message` at byte range `span` of `text`, read from `path`;
    /// `label` is written under the caret (may be empty).
    #[must_use]
    pub fn new(
        path: &Path,
        text: Arc<str>,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Diagnostic {
        let end = span.end.min(text.len());
        let start = span.start.min(end);
        Diagnostic {
            path: path.to_path_buf(),
            text,
            span: start..end,
            message: message.into(),
            label: label.into(),
        }
    }

    /// The file the problem is in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One-based line and column (in characters) of the start of the span.
    #[must_use]
    pub fn line_col(&self) -> (usize, usize) {
        line_col(&self.text, self.span.start)
    }

    /// The problem, without its location.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The full report: headline, location, and the offending line.
    #[must_use]
    pub fn render(&self, color: bool) -> String {
        let (line, _) = self.line_col();
        let origin = self.path.display().to_string();
        // The snippet shows the offending lines only, so a huge file costs
        // nothing to report on.
        let first = self.text[..self.span.start]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let last = self.text[self.span.end..]
            .find('\n')
            .map_or(self.text.len(), |i| self.span.end + i);
        let excerpt = &self.text[first..last];
        let span = (self.span.start - first)..(self.span.end - first).max(self.span.start - first);
        let message = Level::Error.title(&self.message).snippet(
            Snippet::source(excerpt)
                .line_start(line)
                .origin(&origin)
                .annotation(Level::Error.span(span).label(&self.label)),
        );
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        // Renders `--> file:line:col` over the excerpt.
        renderer.render(message).to_string()
    }
}

/// One-based line and column (in characters) of byte `offset` in `text`.
#[must_use]
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: problem`, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        write!(f, "{}:{line}:{col}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for Diagnostic {}
