//! Legacy PowerPoint presentations written by real tools: Python's `python-pptx` (lab venv) makes a
//! case-review deck with a title, a bulleted body, a text box and speaker notes; LibreOffice
//! (`soffice --headless`, Debian `libreoffice-impress-nogui`; CI installs both) saves it as
//! PowerPoint 97 `.ppt`, then reads that `.ppt` back and saves it again as `.pptx`, whose text
//! `python-pptx` lists. Every line LibreOffice found in the `.ppt` must be a line of medguard's
//! reading of it, and the scan must find the patient's identifiers, notes included, whatever the
//! file is called. LibreOffice's own `.odp` of the deck gives the same names.

mod common;

use medguard_model::PhiKind;
use medguard_phi::extract::ppt;
use std::path::Path;

/// `soffice` ([`common::soffice`]) with the filters of `libreoffice-impress-nogui`.
fn soffice(home: &Path, to: &str, out: &Path, file: &Path) {
    common::soffice(home, "libreoffice-impress-nogui", to, out, file);
}

const MAKE_DECK: &str = "import sys
from pptx import Presentation
from pptx.util import Inches
p = Presentation()
s = p.slides.add_slide(p.slide_layouts[1])
s.shapes.title.text = 'Case review: Maria Gonzalez'
s.placeholders[1].text = 'SSN 536-22-8726\\nDOB 03/14/1962, MRN 0012345\\nCall (617) 432-1187'
box = s.shapes.add_textbox(Inches(1), Inches(5.5), Inches(6), Inches(1))
box.text_frame.text = 'Referred by Dr. Alvarez - caf\\u00e9 na\\u00efve 50 \\u20ac'
s.notes_slide.notes_text_frame.text = 'Patient John Smith, member ID W123456789'
p.save(sys.argv[1])
";

/// Every paragraph of a `.pptx`, slides then notes, as `python-pptx` reads them.
const LIST_TEXT: &str = "import sys
from pptx import Presentation
p = Presentation(sys.argv[1])
for s in p.slides:
    for sh in s.shapes:
        if sh.has_text_frame:
            for para in sh.text_frame.paragraphs:
                print(''.join(r.text for r in para.runs))
    if s.has_notes_slide:
        for para in s.notes_slide.notes_text_frame.paragraphs:
            print(''.join(r.text for r in para.runs))
";

#[test]
fn libreoffice_powerpoint97_decks_read_as_libreoffice_reads_them() {
    let (dir, [src, ppts, back]) = common::folders(["src", "ppt", "back"]);
    let pptx = src.join("case.pptx");
    common::python(MAKE_DECK, &[pptx.as_os_str()]);
    soffice(dir.path(), "ppt:MS PowerPoint 97", &ppts, &pptx);
    let path = ppts.join("case.ppt");
    let data = std::fs::read(&path).expect("LibreOffice wrote the .ppt");
    soffice(
        dir.path(),
        "pptx:Impress MS PowerPoint 2007 XML",
        &back,
        &path,
    );
    let theirs = common::python(LIST_TEXT, &[back.join("case.pptx").as_os_str()]);
    let theirs = String::from_utf8(theirs).expect("utf-8");

    let ours = ppt::read(&data)
        .expect("medguard reads the .ppt")
        .expect("not encrypted");
    let our_lines: Vec<&str> = ours.lines().map(str::trim).collect();
    let their_lines: Vec<&str> = theirs
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(their_lines.len() >= 6, "LibreOffice read: {theirs}");
    for l in &their_lines {
        assert!(our_lines.contains(l), "{l:?} not in ours:\n{ours}");
    }

    // The scan finds the identifiers, the notes' included, also in a copy whose name hides what
    // it is.
    common::scan_letter_and_copy(&path, "slides_old.dat", "ppt");

    // The same deck as an OpenDocument presentation (LibreOffice's own format) is read by its
    // paragraphs: the names found are the deck's, none from its styles or fonts ("Filled Blue",
    // "DejaVu Sans" came out as people when the .odp was read as a zip of XML files).
    soffice(dir.path(), "odp", &ppts, &pptx);
    let odp = common::scan(&ppts.join("case.odp"));
    assert_eq!(odp.report.format, "odp");
    let names = |o: &medguard_phi::FileOutcome| {
        let mut n: Vec<String> = o
            .findings
            .iter()
            .filter(|f| f.kind == PhiKind::Name)
            .map(|f| f.hash.to_string())
            .collect();
        n.sort();
        n.dedup();
        n
    };
    let from_pptx = common::scan(&pptx);
    assert_eq!(names(&odp), names(&from_pptx));
    assert!(odp.findings.iter().any(|f| f.masked == "***-**-8726"));
}
