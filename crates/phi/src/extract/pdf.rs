//! PDF text layer via lopdf, behind `catch_unwind` and the per-file time budget; one unit per line
//! with the page number. Image-only PDFs (scans) are reported: they need OCR, which is out of scope.

use super::{Cx, ExtractError};

/// Scan a PDF.
pub fn pdf(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let doc = std::panic::catch_unwind(|| lopdf::Document::load_mem(data))
        .map_err(|_| ExtractError::corrupt("pdf", "the PDF parser crashed"))?
        .map_err(|e| ExtractError::corrupt("pdf", e))?;
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let mut any_text = false;
    for n in pages {
        cx.check_deadline()?;
        let text =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.extract_text(&[n])));
        match text {
            Ok(Ok(t)) => {
                if !t.trim().is_empty() {
                    any_text = true;
                }
                super::text::text_str(&t, Some(n), None, cx)?;
            }
            Ok(Err(e)) => cx.warnings.push(format!("page {n}: {e}")),
            Err(_) => cx
                .warnings
                .push(format!("page {n}: the PDF text extractor crashed")),
        }
    }
    if !any_text {
        cx.warnings
            .push("no text layer (a scanned image?): not checked for patient data".to_string());
    }
    Ok(())
}
