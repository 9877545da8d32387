//! Invoices and credit notes as A4 PDFs. [`render`] lays out an [`InvoiceDocument`] —
//! plain data whose amounts the billing rules have already computed — and returns the
//! file's bytes; the only arithmetic here is printing minor units.
//!
//! Text is set in DejaVu Sans, compiled into the binary and subset into each file, so that
//! names in Latin, Cyrillic, Greek and the other scripts it covers print, and can be
//! searched and copied out of the PDF; there is no fallback font, so characters it lacks
//! (Chinese, Japanese, Korean) print as empty boxes. Widths are measured with the shaper
//! krilla draws with, so amounts align on their right edge and nothing runs into the next
//! column: text is wrapped or cut with an ellipsis, and an amount too wide for its column
//! is set smaller rather than cut.

use chrono::NaiveDate;
use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The most minor digits an amount is printed with. ISO 4217 currencies have at most four;
/// an i64 has nineteen, so beyond this every amount would print as a fraction of a unit.
pub const MAX_MINOR_DIGITS: u32 = 18;

/// Who issues or receives the document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// The legal or trading name, printed bold (wrapped to two lines at most).
    pub name: String,
    /// Address lines, e-mail, telephone: one printed line each, cut if too long.
    pub lines: Vec<String>,
    /// A VAT or other tax registration number, printed as "Tax ID: …".
    pub tax_id: Option<String>,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    /// What is charged; wrapped to three lines, the third cut with an ellipsis.
    pub description: String,
    /// The first and the last day charged, both included, printed under the description as
    /// given. A `rules::Period` ends on the day after its last day, so the caller passes
    /// `(period.start, period.end - 1 day)`.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The quantity as it is to be printed ("1", "0.5").
    pub quantity: String,
    /// The price of one unit, in minor units.
    pub unit_amount: i64,
    /// The tax applied to the line ("VAT 16%"), or empty.
    pub tax_label: String,
    /// The net amount of the line, in minor units.
    pub amount: i64,
}

/// The tax charged at one rate, over the lines taxed at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    /// The rate as printed ("VAT 16%").
    pub label: String,
    /// The net amount taxed at this rate, in minor units.
    pub net: i64,
    /// The tax at this rate, in minor units.
    pub tax: i64,
}

/// What the document is; it only changes the title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A charge to the customer.
    Invoice,
    /// A credit to the customer; its amounts are printed with the sign they are given.
    CreditNote,
}

impl DocumentKind {
    fn title(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "INVOICE",
            DocumentKind::CreditNote => "CREDIT NOTE",
        }
    }
}

/// Everything printed on an invoice or a credit note. Amounts are minor units of
/// `currency`, printed with `minor_digits` decimals and exactly as given: nothing is
/// summed or checked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    /// Invoice or credit note.
    pub kind: DocumentKind,
    /// The document number ("INV-2026-000001"); empty for a draft, which prints "DRAFT".
    pub number: String,
    /// The date of issue.
    pub issued_on: NaiveDate,
    /// The date payment is due, if any.
    pub due_on: Option<NaiveDate>,
    /// The first and the last day the document covers, both included.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The ISO 4217 code printed after each total ("USD").
    pub currency: String,
    /// The currency's minor digits: 2 for USD, 0 for JPY, 3 for KWD; at most
    /// [`MAX_MINOR_DIGITS`].
    pub minor_digits: u32,
    /// The issuer, printed top left.
    pub company: Party,
    /// The customer, printed under "Bill to".
    pub customer: Party,
    /// The table's lines, continued onto further pages as needed.
    pub lines: Vec<DocumentLine>,
    /// The tax per rate, printed under the table when there is any.
    pub taxes: Vec<TaxLine>,
    /// The sum of the lines' net amounts.
    pub subtotal: i64,
    /// The sum of the taxes.
    pub tax_amount: i64,
    /// Subtotal and tax.
    pub total: i64,
    /// What has been paid against the document.
    pub amount_paid: i64,
    /// What is left to pay.
    pub amount_due: i64,
    /// Bank details and other payment instructions, one paragraph each, at the foot.
    pub payment_instructions: Vec<String>,
    /// Free text at the foot; line breaks start new paragraphs.
    pub notes: Option<String>,
}

/// Why a document could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// More minor digits than [`MAX_MINOR_DIGITS`]: no currency has them, so the data is wrong.
    #[error("amounts with {0} minor digits cannot be printed (at most {MAX_MINOR_DIGITS})")]
    MinorDigits(u32),
    /// An embedded font could not be read, which means the binary was built with a broken
    /// font file.
    #[error("the embedded font {0} could not be read")]
    Font(&'static str),
    /// krilla refused to write the file.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// `minor` minor units with `digits` decimals: `(1234567, 2)` is "12345.67", `(-5, 2)` is
/// "-0.05", `(7, 0)` is "7". Integer arithmetic only, so every amount prints exactly; more
/// than [`MAX_MINOR_DIGITS`] digits are printed as that many.
pub fn format_amount(minor: i64, digits: u32) -> String {
    let digits = digits.min(MAX_MINOR_DIGITS) as usize;
    let sign = if minor < 0 { "-" } else { "" };
    // unsigned_abs, because i64::MIN has no positive counterpart.
    let magnitude = minor.unsigned_abs().to_string();
    if digits == 0 {
        return format!("{sign}{magnitude}");
    }
    let padded = format!("{magnitude:0>width$}", width = digits + 1);
    let (whole, fraction) = padded.split_at(padded.len() - digits);
    format!("{sign}{whole}.{fraction}")
}

/// The document as the bytes of a PDF file.
pub fn render(doc: &InvoiceDocument) -> Result<Vec<u8>, PdfError> {
    if doc.minor_digits > MAX_MINOR_DIGITS {
        return Err(PdfError::MinorDigits(doc.minor_digits));
    }
    let fonts = Fonts::load()?;
    let pages = lay_out(doc, &fonts);
    write_pdf(&fonts, &pages, document_title(doc))
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const LEFT: f32 = MARGIN;
const RIGHT: f32 = PAGE_WIDTH - MARGIN;
/// Body text ends here; the footer sits below it.
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN;
const FOOTER_TOP: f32 = PAGE_HEIGHT - 36.0;

const TITLE_SIZE: f32 = 18.0;
const NAME_SIZE: f32 = 11.0;
const BODY_SIZE: f32 = 9.0;
const SMALL_SIZE: f32 = 7.5;
/// The smallest size an amount shrinks to before it would be cut; no i64 needs it in the
/// narrowest amount column.
const MIN_SIZE: f32 = 4.5;
/// Distance between baselines, as a multiple of the size.
const LEADING: f32 = 1.3;
/// DejaVu Sans's ascender (1901 of 2048 units): from the top of a line to its baseline.
const ASCENT: f32 = 0.93;
/// Space under each table row, so that rows of several lines stay apart.
const ROW_GAP: f32 = 4.0;

/// A text field longer than this is cut before layout; it could not fit anywhere it is
/// printed, and the cap bounds the work a pathological field can cause.
const MAX_FIELD_CHARS: usize = 1_000;
/// The notes get more, as they wrap across the page's whole width.
const MAX_NOTES_CHARS: usize = 10_000;
const DESCRIPTION_LINES: usize = 3;
const NAME_LINES: usize = 2;
const ELLIPSIS: &str = "…";

/// A horizontal band text is set in: left-aligned text starts at `left`, right-aligned
/// text ends at `right`.
#[derive(Debug, Clone, Copy)]
struct Column {
    left: f32,
    right: f32,
}

impl Column {
    const fn new(left: f32, right: f32) -> Column {
        Column { left, right }
    }

    fn width(self) -> f32 {
        self.right - self.left
    }
}

const FULL: Column = Column::new(LEFT, RIGHT);
const PARTY: Column = Column::new(LEFT, 300.0);
const META_TITLE: Column = Column::new(310.0, RIGHT);
const META_LABEL: Column = Column::new(330.0, 395.0);
const META_VALUE: Column = Column::new(400.0, RIGHT);

const DESCRIPTION: Column = Column::new(LEFT, 266.0);
const QUANTITY: Column = Column::new(274.0, 316.0);
const UNIT: Column = Column::new(324.0, 396.0);
const TAX: Column = Column::new(406.0, 468.0);
const AMOUNT: Column = Column::new(476.0, RIGHT);

const RATE_LABEL: Column = Column::new(330.0, 395.0);
const RATE_NET: Column = Column::new(400.0, 470.0);
const RATE_TAX: Column = Column::new(475.0, RIGHT);

const TOTAL_LABEL: Column = Column::new(330.0, 420.0);
const TOTAL_VALUE: Column = Column::new(425.0, RIGHT);

const FOOTER_LEFT: Column = Column::new(LEFT, 440.0);
const FOOTER_RIGHT: Column = Column::new(450.0, RIGHT);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Ink,
    Muted,
    Rule,
}

impl Tone {
    fn grey(self) -> luma::Color {
        match self {
            Tone::Ink => luma::Color::new(0),
            Tone::Muted => luma::Color::new(96),
            Tone::Rule => luma::Color::new(176),
        }
    }
}

/// One thing drawn on a page, placed: text at its left edge and the top of its line.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Text {
        x: f32,
        top: f32,
        size: f32,
        style: Style,
        tone: Tone,
        text: String,
    },
    Rule {
        left: f32,
        right: f32,
        y: f32,
    },
}

/// One embedded font, as krilla draws it and as rustybuzz measures it.
struct Typeface {
    face: rustybuzz::Face<'static>,
    font: Font,
    units_per_em: f32,
}

impl Typeface {
    fn load(data: &'static [u8], name: &'static str) -> Result<Typeface, PdfError> {
        let face = rustybuzz::Face::from_slice(data, 0).ok_or(PdfError::Font(name))?;
        let font = Font::new(data.into(), 0).ok_or(PdfError::Font(name))?;
        let units_per_em = f32::from(u16::try_from(face.units_per_em()).unwrap_or(0));
        if units_per_em <= 0.0 {
            return Err(PdfError::Font(name));
        }
        Ok(Typeface {
            face,
            font,
            units_per_em,
        })
    }

    /// `text` shaped as krilla's `draw_text` shapes it (no features, script and direction
    /// guessed), so that measurements are of what is drawn.
    fn shape(&self, text: &str) -> rustybuzz::GlyphBuffer {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        rustybuzz::shape(&self.face, &[], buffer)
    }

    /// The advance of `text` at `size`.
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: i64 = self
            .shape(text)
            .glyph_positions()
            .iter()
            .map(|position| i64::from(position.x_advance))
            .sum();
        units as f32 / self.units_per_em * size
    }

    fn fits(&self, text: &str, size: f32, max: f32) -> bool {
        text.chars().nth(char_cap(size, max)).is_none() && self.width(text, size) <= max
    }

    /// The byte length of the longest prefix of `text` that, followed by `suffix`, fits in
    /// `max`. Shaped alone, a prefix can differ from the whole by a kerning pair at the
    /// cut, so the estimate from the whole's advances is checked and shortened until it
    /// fits.
    fn fitting_prefix(&self, text: &str, size: f32, max: f32, suffix: &str) -> usize {
        let budget = max - self.width(suffix, size);
        let cap = char_cap(size, max);
        // About a line of ordinary text; doubled while all of it fits, so that a long
        // field is not shaped whole for every line cut from it.
        let mut count = (max / (size * 0.5)).ceil().max(0.0) as usize + 8;
        let mut end = loop {
            count = count.min(cap);
            let head_end = text
                .char_indices()
                .nth(count)
                .map_or(text.len(), |(index, _)| index);
            let end = self.prefix_within(&text[..head_end], size, budget);
            if end < head_end || head_end == text.len() || count == cap {
                break end;
            }
            count = count.saturating_mul(2);
        };
        while end > 0 && !self.fits(&format!("{}{suffix}", &text[..end]), size, max) {
            end = text[..end]
                .char_indices()
                .next_back()
                .map_or(0, |(index, _)| index);
        }
        end
    }

    /// The byte length of the longest prefix of `text` whose glyphs, as shaped in the
    /// whole of `text`, advance no more than `budget`.
    fn prefix_within(&self, text: &str, size: f32, budget: f32) -> usize {
        let shaped = self.shape(text);
        // By cluster rather than in glyph order, which runs backwards in right-to-left text.
        let mut advances: Vec<(usize, i64)> = shaped
            .glyph_infos()
            .iter()
            .zip(shaped.glyph_positions())
            .map(|(info, position)| (info.cluster as usize, i64::from(position.x_advance)))
            .collect();
        advances.sort_unstable_by_key(|&(cluster, _)| cluster);
        let scale = size / self.units_per_em;
        let mut glyphs = advances.into_iter().peekable();
        let (mut units, mut end) = (0_i64, 0);
        for (index, c) in text.char_indices() {
            let next = index + c.len_utf8();
            while let Some((_, advance)) = glyphs.next_if(|&(cluster, _)| cluster < next) {
                units += advance;
            }
            if units as f32 * scale > budget {
                break;
            }
            end = next;
        }
        end
    }

    /// `text` as one line of at most `max`, cut with an ellipsis if it is wider.
    fn truncate(&self, text: &str, size: f32, max: f32) -> String {
        if self.fits(text, size, max) {
            return text.to_owned();
        }
        let end = self.fitting_prefix(text, size, max, ELLIPSIS);
        let head = text[..end].trim_end();
        if !head.is_empty() {
            format!("{head}{ELLIPSIS}")
        } else if self.fits(ELLIPSIS, size, max) {
            ELLIPSIS.to_owned()
        } else {
            String::new()
        }
    }

    /// `text` broken into lines of at most `max`, at spaces where there are any; the last
    /// of `max_lines` lines is cut with an ellipsis if text is left over.
    fn wrap(&self, text: &str, size: f32, max: f32, max_lines: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() && lines.len() < max_lines {
            if lines.len() + 1 == max_lines {
                lines.push(self.truncate(rest, size, max));
                break;
            }
            let end = self.fitting_prefix(rest, size, max, "");
            if end == rest.len() || end == 0 {
                // All of it fits, or not even one character does and the ellipsis stands
                // for the rest.
                lines.push(self.truncate(rest, size, max));
                break;
            }
            let cut = if rest[end..].starts_with(char::is_whitespace) {
                end
            } else {
                rest[..end]
                    .rfind(char::is_whitespace)
                    .filter(|&space| space > 0)
                    .unwrap_or(end)
            };
            lines.push(rest[..cut].trim_end().to_owned());
            rest = rest[cut..].trim_start();
        }
        lines
    }

    /// `text` at `size` or, if it is wider than `max`, at the size that makes it fit (down
    /// to [`MIN_SIZE`], cut beyond that): amounts are never cut in practice.
    fn shrink(&self, text: &str, size: f32, max: f32) -> (String, f32) {
        let width = self.width(text, size);
        if width <= max {
            return (text.to_owned(), size);
        }
        // Width is linear in size; the 0.99 absorbs rounding in the division.
        let smaller = (size * max / width * 0.99).clamp(MIN_SIZE, size);
        (self.truncate(text, smaller, max), smaller)
    }
}

struct Fonts {
    regular: Typeface,
    bold: Typeface,
}

impl Fonts {
    fn load() -> Result<Fonts, PdfError> {
        Ok(Fonts {
            regular: Typeface::load(REGULAR_TTF, "DejaVuSans.ttf")?,
            bold: Typeface::load(BOLD_TTF, "DejaVuSans-Bold.ttf")?,
        })
    }

    fn get(&self, style: Style) -> &Typeface {
        match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        }
    }
}

/// `text` with control characters (line breaks, tabs) as spaces, and cut after `limit`
/// characters.
fn clean(text: &str, limit: usize) -> String {
    let mut out: String = text
        .chars()
        .take(limit)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(limit).is_some() {
        out.push_str(ELLIPSIS);
    }
    out
}

/// More characters than could fit in `max` at `size`: no DejaVu Sans glyph that advances
/// at all is narrower than 150 of 2048 units, 0.07 em. Text is shaped no further than this,
/// which keeps a long field from being shaped whole for every line it fills; a run of
/// zero-width marks longer than this is merely cut early.
fn char_cap(size: f32, max: f32) -> usize {
    ((max / (size * 0.07)).ceil().max(0.0) as usize).saturating_add(1)
}

fn line_height(size: f32) -> f32 {
    size * LEADING
}

fn number_or_draft(doc: &InvoiceDocument) -> String {
    let number = clean(&doc.number, MAX_FIELD_CHARS);
    if number.trim().is_empty() {
        "DRAFT".to_owned()
    } else {
        number
    }
}

fn document_title(doc: &InvoiceDocument) -> String {
    let title = match doc.kind {
        DocumentKind::Invoice => "Invoice",
        DocumentKind::CreditNote => "Credit note",
    };
    format!("{title} {}", number_or_draft(doc))
}

fn period_text((first, last): (NaiveDate, NaiveDate)) -> String {
    format!("{first} – {last}")
}

/// Places text on pages, top to bottom, starting a page whenever the next block would run
/// past [`BOTTOM`].
struct Layout<'a> {
    fonts: &'a Fonts,
    running_head: String,
    done: Vec<Vec<Op>>,
    current: Vec<Op>,
    /// The top of the next line.
    y: f32,
    /// Where the current page's body starts; a page still there takes any block.
    body_top: f32,
}

impl<'a> Layout<'a> {
    fn new(fonts: &'a Fonts, running_head: String) -> Layout<'a> {
        Layout {
            fonts,
            running_head,
            done: Vec::new(),
            current: Vec::new(),
            y: MARGIN,
            body_top: MARGIN,
        }
    }

    /// Starts a new page unless `height` more fits on this one. A page with nothing on it
    /// yet takes any block, so that a block taller than a page cannot loop. Returns whether
    /// a page was started.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y + height <= BOTTOM || self.y <= self.body_top {
            return false;
        }
        self.done.push(std::mem::take(&mut self.current));
        self.y = MARGIN;
        let head = self.running_head.clone();
        self.left(FULL, BODY_SIZE, Style::Bold, Tone::Muted, &head);
        self.y += line_height(BODY_SIZE) + 8.0;
        self.body_top = self.y;
        true
    }

    fn push_text(&mut self, x: f32, size: f32, style: Style, tone: Tone, text: String) {
        self.push_text_at(x, self.y, size, style, tone, text);
    }

    fn push_text_at(
        &mut self,
        x: f32,
        top: f32,
        size: f32,
        style: Style,
        tone: Tone,
        text: String,
    ) {
        if text.is_empty() {
            return;
        }
        self.current.push(Op::Text {
            x,
            top,
            size,
            style,
            tone,
            text,
        });
    }

    /// One line at the column's left edge, cut to its width.
    fn left(&mut self, column: Column, size: f32, style: Style, tone: Tone, text: &str) {
        let text = self.fonts.get(style).truncate(text, size, column.width());
        self.push_text(column.left, size, style, tone, text);
    }

    /// One line ending at the column's right edge, set smaller if it is wider, on the
    /// baseline it would have had at full size.
    fn right(&mut self, column: Column, size: f32, style: Style, tone: Tone, text: &str) {
        let face = self.fonts.get(style);
        let (text, set_size) = face.shrink(text, size, column.width());
        let x = column.right - face.width(&text, set_size);
        let top = self.y + ASCENT * (size - set_size);
        self.push_text_at(x, top, set_size, style, tone, text);
    }

    fn rule(&mut self, column: Column) {
        self.current.push(Op::Rule {
            left: column.left,
            right: column.right,
            y: self.y,
        });
    }

    /// Wrapped text over the page's width, one line at a time so that it flows onto the
    /// next page.
    fn paragraph(&mut self, text: &str, size: f32) {
        let lines = self
            .fonts
            .regular
            .wrap(text, size, FULL.width(), usize::MAX);
        for line in lines {
            self.ensure(line_height(size));
            self.push_text(FULL.left, size, Style::Regular, Tone::Ink, line);
            self.y += line_height(size);
        }
    }

    /// A heading kept on the page with the first line under it.
    fn heading(&mut self, text: &str) {
        self.ensure(line_height(SMALL_SIZE) + line_height(BODY_SIZE));
        self.left(FULL, SMALL_SIZE, Style::Bold, Tone::Muted, text);
        self.y += line_height(SMALL_SIZE) + 2.0;
    }

    fn finish(mut self) -> Vec<Vec<Op>> {
        self.done.push(self.current);
        self.done
    }
}

/// The document's pages, each as the list of what is drawn on it.
fn lay_out(doc: &InvoiceDocument, fonts: &Fonts) -> Vec<Vec<Op>> {
    let title = doc.kind.title();
    let number = number_or_draft(doc);
    let mut layout = Layout::new(fonts, format!("{title} {number} (continued)"));
    header(&mut layout, doc, title, &number);
    table(&mut layout, doc);
    tax_breakdown(&mut layout, doc);
    totals(&mut layout, doc);
    foot(&mut layout, doc);
    let mut pages = layout.finish();
    footers(&mut pages, fonts, doc, title, &number);
    pages
}

/// Title, number and dates top right; the company top left and the customer under it.
fn header(layout: &mut Layout, doc: &InvoiceDocument, title: &str, number: &str) {
    layout.right(META_TITLE, TITLE_SIZE, Style::Bold, Tone::Ink, title);
    layout.y += line_height(TITLE_SIZE) + 4.0;
    let rows = [
        Some(("Number", number.to_owned())),
        Some(("Issued", doc.issued_on.to_string())),
        doc.due_on.map(|due| ("Due", due.to_string())),
        doc.period.map(|period| ("Period", period_text(period))),
    ];
    for (label, value) in rows.into_iter().flatten() {
        layout.left(META_LABEL, BODY_SIZE, Style::Regular, Tone::Muted, label);
        layout.right(META_VALUE, BODY_SIZE, Style::Regular, Tone::Ink, &value);
        layout.y += line_height(BODY_SIZE);
    }
    let meta_end = layout.y;

    layout.y = MARGIN;
    party(layout, &doc.company, NAME_SIZE);
    layout.y += 20.0;
    layout.ensure(line_height(SMALL_SIZE) + line_height(BODY_SIZE));
    layout.left(PARTY, SMALL_SIZE, Style::Bold, Tone::Muted, "Bill to");
    layout.y += line_height(SMALL_SIZE);
    party(layout, &doc.customer, BODY_SIZE + 1.0);
    if layout.done.is_empty() {
        layout.y = layout.y.max(meta_end);
    }
    layout.y += 20.0;
}

fn party(layout: &mut Layout, party: &Party, name_size: f32) {
    let name = clean(&party.name, MAX_FIELD_CHARS);
    let name_lines = layout
        .fonts
        .bold
        .wrap(&name, name_size, PARTY.width(), NAME_LINES);
    for line in name_lines {
        layout.ensure(line_height(name_size));
        layout.push_text(PARTY.left, name_size, Style::Bold, Tone::Ink, line);
        layout.y += line_height(name_size);
    }
    let tax_id = party
        .tax_id
        .iter()
        .filter(|id| !id.trim().is_empty())
        .map(|id| format!("Tax ID: {id}"));
    for line in party.lines.iter().cloned().chain(tax_id) {
        layout.ensure(line_height(BODY_SIZE));
        let line = clean(&line, MAX_FIELD_CHARS);
        layout.left(PARTY, BODY_SIZE, Style::Regular, Tone::Ink, &line);
        layout.y += line_height(BODY_SIZE);
    }
}

fn table_head(layout: &mut Layout) {
    let (size, style, tone) = (SMALL_SIZE, Style::Bold, Tone::Muted);
    layout.left(DESCRIPTION, size, style, tone, "Description");
    layout.right(QUANTITY, size, style, tone, "Qty");
    layout.right(UNIT, size, style, tone, "Unit price");
    layout.left(TAX, size, style, tone, "Tax");
    layout.right(AMOUNT, size, style, tone, "Amount");
    layout.y += line_height(size) + 1.0;
    layout.rule(FULL);
    layout.y += 4.0;
}

/// The lines, with the column heads repeated on every page the table reaches and kept on
/// the page with the first row under them.
fn table(layout: &mut Layout, doc: &InvoiceDocument) {
    let head_height = line_height(SMALL_SIZE) + 5.0;
    for (index, line) in doc.lines.iter().enumerate() {
        let description = clean(&line.description, MAX_FIELD_CHARS);
        let wrapped = layout.fonts.regular.wrap(
            &description,
            BODY_SIZE,
            DESCRIPTION.width(),
            DESCRIPTION_LINES,
        );
        let period_height = line.period.map_or(0.0, |_| line_height(SMALL_SIZE));
        let text_lines = wrapped.len().max(1) as f32;
        let height = text_lines * line_height(BODY_SIZE) + period_height + ROW_GAP;
        if index == 0 {
            layout.ensure(head_height + height);
            table_head(layout);
        } else if layout.ensure(height) {
            table_head(layout);
        }
        row(layout, doc, line, wrapped);
    }
    if !doc.lines.is_empty() {
        layout.rule(FULL);
    }
}

fn row(layout: &mut Layout, doc: &InvoiceDocument, line: &DocumentLine, wrapped: Vec<String>) {
    let (size, style, tone) = (BODY_SIZE, Style::Regular, Tone::Ink);
    let quantity = clean(&line.quantity, MAX_FIELD_CHARS);
    let unit = format_amount(line.unit_amount, doc.minor_digits);
    let tax = clean(&line.tax_label, MAX_FIELD_CHARS);
    let amount = format_amount(line.amount, doc.minor_digits);
    layout.right(QUANTITY, size, style, tone, &quantity);
    layout.right(UNIT, size, style, tone, &unit);
    layout.left(TAX, size, style, tone, &tax);
    layout.right(AMOUNT, size, style, tone, &amount);
    let top = layout.y;
    for text in wrapped {
        layout.push_text(DESCRIPTION.left, size, style, tone, text);
        layout.y += line_height(size);
    }
    layout.y = layout.y.max(top + line_height(size));
    if let Some(period) = line.period {
        let text = period_text(period);
        layout.left(DESCRIPTION, SMALL_SIZE, style, Tone::Muted, &text);
        layout.y += line_height(SMALL_SIZE);
    }
    layout.y += ROW_GAP;
}

fn tax_breakdown(layout: &mut Layout, doc: &InvoiceDocument) {
    if doc.taxes.is_empty() {
        return;
    }
    layout.y += 10.0;
    layout.ensure(line_height(SMALL_SIZE) + 5.0 + line_height(BODY_SIZE));
    let (size, style, tone) = (SMALL_SIZE, Style::Bold, Tone::Muted);
    layout.left(RATE_LABEL, size, style, tone, "Tax");
    layout.right(RATE_NET, size, style, tone, "Net");
    layout.right(RATE_TAX, size, style, tone, "Tax amount");
    layout.y += line_height(size) + 1.0;
    layout.rule(Column::new(RATE_LABEL.left, RIGHT));
    layout.y += 4.0;
    for rate in &doc.taxes {
        layout.ensure(line_height(BODY_SIZE));
        let (size, style, tone) = (BODY_SIZE, Style::Regular, Tone::Ink);
        let label = clean(&rate.label, MAX_FIELD_CHARS);
        layout.left(RATE_LABEL, size, style, tone, &label);
        let net = format_amount(rate.net, doc.minor_digits);
        layout.right(RATE_NET, size, style, tone, &net);
        let tax = format_amount(rate.tax, doc.minor_digits);
        layout.right(RATE_TAX, size, style, tone, &tax);
        layout.y += line_height(size);
    }
}

/// Subtotal to amount due, kept together on one page; the bold rows have a rule above.
fn totals(layout: &mut Layout, doc: &InvoiceDocument) {
    let currency = clean(&doc.currency, MAX_FIELD_CHARS);
    let rows = [
        ("Subtotal", doc.subtotal, Style::Regular),
        ("Tax", doc.tax_amount, Style::Regular),
        ("Total", doc.total, Style::Bold),
        ("Paid", doc.amount_paid, Style::Regular),
        ("Amount due", doc.amount_due, Style::Bold),
    ];
    layout.y += 12.0;
    layout.ensure(rows.len() as f32 * line_height(BODY_SIZE) + 8.0);
    for (label, amount, style) in rows {
        if style == Style::Bold {
            layout.y += 2.0;
            layout.rule(Column::new(TOTAL_LABEL.left, RIGHT));
            layout.y += 2.0;
        }
        let value = format!("{} {currency}", format_amount(amount, doc.minor_digits));
        layout.left(TOTAL_LABEL, BODY_SIZE, style, Tone::Ink, label);
        layout.right(TOTAL_VALUE, BODY_SIZE, style, Tone::Ink, value.trim_end());
        layout.y += line_height(BODY_SIZE);
    }
}

/// Payment instructions and notes, flowing onto further pages if they are long.
fn foot(layout: &mut Layout, doc: &InvoiceDocument) {
    let instructions: Vec<String> = doc
        .payment_instructions
        .iter()
        .map(|text| clean(text, MAX_FIELD_CHARS))
        .filter(|text| !text.trim().is_empty())
        .collect();
    if !instructions.is_empty() {
        layout.y += 18.0;
        layout.heading("Payment");
        for text in instructions {
            layout.paragraph(&text, BODY_SIZE);
        }
    }
    let notes = doc.notes.as_deref().unwrap_or_default();
    if !notes.trim().is_empty() {
        layout.y += 14.0;
        layout.heading("Notes");
        // Cut before the paragraphs are split, as `clean` would join them.
        let mut notes: String = notes.chars().take(MAX_NOTES_CHARS).collect();
        if notes.len() < doc.notes.as_deref().map_or(0, str::len) {
            notes.push_str(ELLIPSIS);
        }
        for paragraph in notes.lines() {
            if paragraph.trim().is_empty() {
                layout.y += line_height(BODY_SIZE) / 2.0;
            } else {
                layout.paragraph(&clean(paragraph, MAX_NOTES_CHARS), BODY_SIZE);
            }
        }
    }
}

/// "Page n of m" and the document's name at the foot of every page, once their number is
/// known.
fn footers(pages: &mut [Vec<Op>], fonts: &Fonts, doc: &InvoiceDocument, title: &str, number: &str) {
    let count = pages.len();
    let company = clean(&doc.company.name, MAX_FIELD_CHARS);
    let name = if company.trim().is_empty() {
        format!("{title} {number}")
    } else {
        format!("{company} · {title} {number}")
    };
    for (index, page) in pages.iter_mut().enumerate() {
        let mut layout = Layout::new(fonts, String::new());
        layout.y = FOOTER_TOP;
        layout.left(FOOTER_LEFT, SMALL_SIZE, Style::Regular, Tone::Muted, &name);
        let page_number = format!("Page {} of {count}", index + 1);
        layout.right(
            FOOTER_RIGHT,
            SMALL_SIZE,
            Style::Regular,
            Tone::Muted,
            &page_number,
        );
        page.append(&mut layout.current);
    }
}

fn write_pdf(fonts: &Fonts, pages: &[Vec<Op>], title: String) -> Result<Vec<u8>, PdfError> {
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| PdfError::Write("the page size is invalid".to_owned()))?;
    let mut document = Document::new();
    document.set_metadata(Metadata::new().title(title).creator("Lastmile".to_owned()));
    for ops in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, fonts, op);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|error| PdfError::Write(error.to_string()))
}

fn draw(surface: &mut Surface, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text {
            x,
            top,
            size,
            style,
            tone,
            text,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(Fill {
                paint: tone.grey().into(),
                ..Fill::default()
            }));
            surface.draw_text(
                Point::from_xy(*x, *top + ASCENT * *size),
                fonts.get(*style).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rule { left, right, y } => {
            let mut builder = PathBuilder::new();
            builder.move_to(*left, *y);
            builder.line_to(*right, *y);
            if let Some(path) = builder.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: Tone::Rule.grey().into(),
                    width: 0.5,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
                surface.set_stroke(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::Command;

    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn service_line(description: &str, amount: i64) -> DocumentLine {
        DocumentLine {
            description: description.to_owned(),
            period: Some((day("2026-01-01"), day("2026-01-31"))),
            quantity: "1".to_owned(),
            unit_amount: amount,
            tax_label: "VAT 16%".to_owned(),
            amount,
        }
    }

    fn sample(customer: &str) -> InvoiceDocument {
        InvoiceDocument {
            kind: DocumentKind::Invoice,
            number: "INV-2026-000001".to_owned(),
            issued_on: day("2026-02-01"),
            due_on: Some(day("2026-02-15")),
            period: Some((day("2026-01-01"), day("2026-01-31"))),
            currency: "USD".to_owned(),
            minor_digits: 2,
            company: Party {
                name: "Lastmile Networks S.A.".to_owned(),
                lines: vec![
                    "Av. Reforma 100".to_owned(),
                    "Ciudad de México".to_owned(),
                    "billing@lastmile.example".to_owned(),
                ],
                tax_id: Some("LNE010203AB1".to_owned()),
            },
            customer: Party {
                name: customer.to_owned(),
                lines: vec!["Calle Falsa 123".to_owned()],
                tax_id: None,
            },
            lines: vec![
                service_line("Fibre 300 Mbps", 7999),
                DocumentLine {
                    description: "Static IPv4 address".to_owned(),
                    period: None,
                    quantity: "0.5".to_owned(),
                    unit_amount: 1000,
                    tax_label: "VAT 16%".to_owned(),
                    amount: 500,
                },
            ],
            taxes: vec![TaxLine {
                label: "VAT 16%".to_owned(),
                net: 8499,
                tax: 1360,
            }],
            subtotal: 8499,
            tax_amount: 1360,
            total: 9859,
            amount_paid: 0,
            amount_due: 9859,
            payment_instructions: vec!["Bank: Banco Ejemplo, CLABE 012180001234567897".to_owned()],
            notes: Some("Thank you for your business.".to_owned()),
        }
    }

    /// Whether poppler's pdftotext and pdfinfo are installed. A test that needs them and
    /// cannot run fails under CI=true rather than passing silently.
    fn poppler() -> bool {
        let installed = ["pdftotext", "pdfinfo"]
            .iter()
            .all(|tool| Command::new(tool).arg("-v").output().is_ok());
        if installed {
            return true;
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pdftotext and pdfinfo (poppler-utils) are not installed, and CI=true needs the PDF tests to run"
        );
        eprintln!("skipped: pdftotext and pdfinfo (poppler-utils) are not installed");
        false
    }

    /// The standard output of `tool` run with `args`, in which "FILE" stands for the PDF,
    /// written to a temporary file.
    fn run_on(pdf: &[u8], tool: &str, args: &[&str]) -> String {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(pdf).unwrap();
        file.flush().unwrap();
        let path = file.path().to_str().unwrap();
        let args = args
            .iter()
            .map(|&arg| if arg == "FILE" { path } else { arg });
        let output = Command::new(tool).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn text_of(pdf: &[u8]) -> String {
        run_on(pdf, "pdftotext", &["-layout", "FILE", "-"])
    }

    fn pages_of(pdf: &[u8]) -> usize {
        let info = run_on(pdf, "pdfinfo", &["FILE"]);
        info.lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .and_then(|count| count.trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn the_bytes_are_a_pdf_file() {
        let pdf = render(&sample("Zoë Ñandú")).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }

    #[test]
    fn amounts_print_exactly_with_the_currency_digits() {
        let table = [
            (1_234_567, 2, "12345.67"),
            (-5, 2, "-0.05"),
            (7, 0, "7"),
            (0, 2, "0.00"),
            (0, 0, "0"),
            (0, 3, "0.000"),
            (1, 3, "0.001"),
            (-1_234, 3, "-1.234"),
            (1_000, 3, "1.000"),
            (100, 2, "1.00"),
            (-100, 0, "-100"),
            (99, 2, "0.99"),
            (-99_999, 2, "-999.99"),
            (i64::MAX, 2, "92233720368547758.07"),
            (i64::MIN, 2, "-92233720368547758.08"),
            (12, 4, "0.0012"),
        ];
        for (minor, digits, expected) in table {
            assert_eq!(
                format_amount(minor, digits),
                expected,
                "{minor} with {digits}"
            );
        }
        assert_eq!(format_amount(1, 40), format_amount(1, MAX_MINOR_DIGITS));
    }

    #[test]
    fn an_invoice_extracts_its_number_total_customer_currency_and_company() {
        let doc = sample("Zoë Ñandú");
        let pdf = render(&doc).unwrap();
        if !poppler() {
            return;
        }
        let text = text_of(&pdf);
        for expected in [
            "INVOICE",
            "INV-2026-000001",
            "98.59 USD",
            "Zoë Ñandú",
            "Lastmile Networks S.A.",
            "Ciudad de México",
            "Fibre 300 Mbps",
            "2026-01-01 – 2026-01-31",
            "CLABE 012180001234567897",
            "Thank you for your business.",
            "Page 1 of 1",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(text.contains(&format_amount(doc.total, doc.minor_digits)));
    }

    #[test]
    fn cyrillic_names_print_and_extract() {
        let mut doc = sample("Иван Петров");
        doc.company.name = "ООО «Последняя миля»".to_owned();
        doc.kind = DocumentKind::CreditNote;
        doc.number = String::new();
        let pdf = render(&doc).unwrap();
        if !poppler() {
            return;
        }
        let text = text_of(&pdf);
        for expected in [
            "Иван Петров",
            "ООО «Последняя миля»",
            "CREDIT NOTE",
            "DRAFT",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn two_hundred_lines_continue_over_pages_and_all_print() {
        let mut doc = sample("Zoë Ñandú");
        doc.lines = (1..=200)
            .map(|i| service_line(&format!("Service line {i:03}"), 1000 + i))
            .collect();
        let pdf = render(&doc).unwrap();
        if !poppler() {
            return;
        }
        let pages = pages_of(&pdf);
        assert!(pages > 1, "200 lines fit on {pages} page");
        let text = text_of(&pdf);
        for i in 1..=200 {
            let description = format!("Service line {i:03}");
            assert!(text.contains(&description), "{description} missing");
        }
        assert!(text.contains(&format!("Page {pages} of {pages}")));
        assert!(text.contains("INVOICE INV-2026-000001 (continued)"));
    }

    fn edge_documents() -> Vec<InvoiceDocument> {
        let long = "Wolfeschlegelsteinhausenbergerdorff ".repeat(300);
        let unbroken = "W".repeat(20_000);
        let huge = i64::MAX / 2;
        let mut empty = sample("");
        empty.number = String::new();
        empty.currency = String::new();
        empty.company = Party::default();
        empty.lines.clear();
        empty.taxes.clear();
        empty.payment_instructions.clear();
        empty.notes = None;
        let mut blank_strings = sample(" ");
        blank_strings.lines = vec![DocumentLine {
            description: String::new(),
            period: None,
            quantity: String::new(),
            unit_amount: 0,
            tax_label: String::new(),
            amount: 0,
        }];
        blank_strings.payment_instructions = vec![String::new(), " ".to_owned()];
        blank_strings.notes = Some("\n\n".to_owned());
        let mut long_text = sample(&long);
        long_text.company.name = unbroken.clone();
        long_text.company.lines = vec![unbroken.clone(); 80];
        long_text.customer.tax_id = Some(unbroken.clone());
        long_text.number = unbroken.clone();
        long_text.currency = unbroken.clone();
        long_text.lines = vec![
            service_line(&long, 1),
            service_line(&unbroken, 1),
            DocumentLine {
                quantity: unbroken.clone(),
                tax_label: long.clone(),
                ..service_line("x", 1)
            },
        ];
        long_text.taxes = vec![TaxLine {
            label: unbroken.clone(),
            net: 1,
            tax: 1,
        }];
        long_text.payment_instructions = vec![long.clone(); 4];
        long_text.notes = Some(format!("{long}\n{unbroken}\n\t\r\u{0}"));
        let mut huge_amounts = sample("Zoë Ñandú");
        huge_amounts.lines = vec![service_line("Backbone", huge)];
        huge_amounts.subtotal = huge;
        huge_amounts.total = i64::MAX;
        huge_amounts.amount_paid = i64::MIN;
        huge_amounts.amount_due = -huge;
        let mut credit = sample("Zoë Ñandú");
        credit.kind = DocumentKind::CreditNote;
        credit.lines = vec![service_line("Refund of unused days", -4_516)];
        credit.subtotal = -4_516;
        credit.tax_amount = -723;
        credit.total = -5_239;
        credit.amount_due = -5_239;
        let mut scripts = sample("山田太郎 😀 محمد Ελένη");
        scripts.lines = vec![service_line("\u{301}\u{200f}\u{feff}", 1)];
        let mut no_digits = sample("Zoë Ñandú");
        no_digits.minor_digits = 0;
        no_digits.currency = "JPY".to_owned();
        let mut three_digits = sample("Zoë Ñandú");
        three_digits.minor_digits = 3;
        three_digits.currency = "KWD".to_owned();
        let mut most_digits = sample("Zoë Ñandú");
        most_digits.minor_digits = MAX_MINOR_DIGITS;
        vec![
            empty,
            blank_strings,
            long_text,
            huge_amounts,
            credit,
            scripts,
            no_digits,
            three_digits,
            most_digits,
        ]
    }

    #[test]
    fn edge_inputs_render_without_panicking() {
        for doc in edge_documents() {
            let pdf = render(&doc).unwrap();
            assert!(pdf.starts_with(b"%PDF-"));
        }
        let mut too_many_digits = sample("Zoë Ñandú");
        too_many_digits.minor_digits = MAX_MINOR_DIGITS + 1;
        assert_eq!(
            render(&too_many_digits),
            Err(PdfError::MinorDigits(MAX_MINOR_DIGITS + 1))
        );
    }

    #[test]
    fn huge_and_negative_amounts_print_in_full() {
        let huge = i64::MAX / 2;
        let mut doc = sample("Zoë Ñandú");
        doc.lines = vec![service_line("Backbone", huge)];
        doc.total = huge;
        doc.amount_due = -huge;
        let pdf = render(&doc).unwrap();
        if !poppler() {
            return;
        }
        let text = text_of(&pdf);
        assert!(text.contains("46116860184273879.03 USD"), "{text}");
        assert!(text.contains("-46116860184273879.03 USD"), "{text}");
    }

    /// Every piece of text stays inside the margins, and no two pieces on the same line
    /// overlap, so no column's text runs into the next one.
    #[test]
    fn text_stays_in_the_margins_and_off_other_columns() {
        let fonts = Fonts::load().unwrap();
        let slack = 0.01;
        for doc in edge_documents() {
            for page in lay_out(&doc, &fonts) {
                let boxes: Vec<(f32, f32, f32, f32, String)> = page
                    .into_iter()
                    .filter_map(|op| match op {
                        Op::Text {
                            x,
                            top,
                            size,
                            style,
                            text,
                            ..
                        } => {
                            let right = x + fonts.get(style).width(&text, size);
                            Some((x, right, top, top + size, text))
                        }
                        Op::Rule { .. } => None,
                    })
                    .collect();
                for (i, (left, right, top, bottom, text)) in boxes.iter().enumerate() {
                    assert!(*left >= LEFT - slack && *right <= RIGHT + slack, "{text:?}");
                    assert!(*top >= MARGIN - slack && *bottom <= PAGE_HEIGHT, "{text:?}");
                    for (other_left, other_right, other_top, other_bottom, other) in &boxes[i + 1..]
                    {
                        let same_line = top < other_bottom && other_top < bottom;
                        let apart = *right <= other_left + slack || *other_right <= left + slack;
                        assert!(!same_line || apart, "{text:?} overlaps {other:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn amounts_align_on_the_right_edge() {
        let fonts = Fonts::load().unwrap();
        let doc = sample("Zoë Ñandú");
        let pages = lay_out(&doc, &fonts);
        let amounts: Vec<f32> = pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                Op::Text {
                    x,
                    size,
                    style,
                    text,
                    ..
                } if text == "79.99" || text == "5.00" => {
                    Some(x + fonts.get(*style).width(text, *size))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            amounts.len(),
            3,
            "unit price and amount of 79.99, amount of 5.00"
        );
        assert!(
            amounts
                .iter()
                .any(|right| (right - AMOUNT.right).abs() < 0.01)
        );
        for right in amounts {
            assert!(
                (right - AMOUNT.right).abs() < 0.01 || (right - UNIT.right).abs() < 0.01,
                "{right}"
            );
        }
    }

    #[test]
    fn long_text_wraps_at_spaces_and_is_cut_with_an_ellipsis() {
        let fonts = Fonts::load().unwrap();
        let face = &fonts.regular;
        let text = "Fibre 1000 Mbps symmetric with static address and managed router";
        let lines = face.wrap(text, BODY_SIZE, 100.0, 10);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), text);
        assert!(
            lines
                .iter()
                .all(|line| face.width(line, BODY_SIZE) <= 100.0)
        );
        let cut = face.wrap(text, BODY_SIZE, 100.0, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with(ELLIPSIS));
        assert_eq!(face.truncate("", BODY_SIZE, 10.0), "");
        assert_eq!(face.truncate("Fibre", BODY_SIZE, 0.0), "");
    }
}
