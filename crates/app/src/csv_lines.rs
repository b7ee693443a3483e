//! CSV files read one physical line at a time, so every line of an import is accounted for.
//!
//! A CSV reader that follows quotes across line ends lets one stray `"` swallow every line up to the
//! next quote (an audit lost about a million lines of a two-million-line poll file that way). None of
//! the files Brigade imports has a field spanning lines, so here each physical line is one record: a
//! line whose quotes do not pair up is rejected on its own, with its number and the reason, and the next
//! line is read as if nothing happened. Lines that are not UTF-8 are read as Windows-1252 (the order logs
//! are), and a field holding a NUL character rejects its line.
//!
//! [`Rejects`] collects what the importers refuse: the list, an optional file receiving each rejected
//! line as it was (`--rejects`), and the limit past which an import stops and stores nothing
//! (`--max-rejects`). [`Tally`] is what an import says of each file: `lines = stored + duplicates +
//! rejected`.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A line an import refused.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejected {
    pub file: String,
    /// Physical line number (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// What an import did with the data lines of one file (the header is not counted).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub file: String,
    pub lines: u64,
    /// Lines whose content was stored (or, for a lookup file such as a menu, used).
    pub stored: u64,
    /// Lines whose content was there already (a second import of the same file).
    pub duplicates: u64,
    pub rejected: u64,
}

impl Tally {
    /// Whether every line is one of stored, duplicate or rejected.
    pub fn balances(&self) -> bool {
        self.lines == self.stored + self.duplicates + self.rejected
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} line(s) = {} stored + {} already there + {} rejected",
            self.file, self.lines, self.stored, self.duplicates, self.rejected
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinesError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{file}: {problem}")]
    Format { file: String, problem: String },
    #[error("cannot write the rejected lines to {path}: {cause}")]
    Rejects {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "stopped: {rejected} line(s) rejected, more than the {limit} allowed; nothing was stored (fix the file, or raise --max-rejects)"
    )]
    TooManyRejected {
        rejected: u64,
        limit: String,
        /// The first lines rejected, to show.
        first: Vec<Rejected>,
    },
}

/// How many rejected lines an import tolerates before it stops and stores nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRejects {
    /// At most this many lines.
    Count(u64),
    /// At most this share (0..=1) of the data lines, judged once every file is read.
    Share(f64),
}

impl Default for MaxRejects {
    /// A file with more than one line in fifty broken is more likely the wrong file, or the wrong
    /// format, than a file with a few mistakes.
    fn default() -> Self {
        MaxRejects::Share(0.02)
    }
}

impl std::str::FromStr for MaxRejects {
    type Err = String;

    /// `250` (lines) or `2%` (of the data lines).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a number of lines (250) or a share of them (2%)");
        match s.strip_suffix('%') {
            Some(share) => {
                let share: f64 = share.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&share) {
                    return Err(bad());
                }
                Ok(MaxRejects::Share(share / 100.0))
            }
            None => s.parse().map(MaxRejects::Count).map_err(|_| bad()),
        }
    }
}

impl fmt::Display for MaxRejects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxRejects::Count(n) => write!(f, "{n}"),
            MaxRejects::Share(share) => write!(f, "{}%", share * 100.0),
        }
    }
}

/// Where the rejected lines go, and how many are too many.
#[derive(Debug, Clone, Default)]
pub struct RejectOptions {
    /// Write each rejected line here as it was (after its file's header line).
    pub out: Option<PathBuf>,
    pub max: MaxRejects,
}

/// The lines an import refused, as it refuses them.
pub struct Rejects {
    pub list: Vec<Rejected>,
    out: Option<(PathBuf, BufWriter<File>)>,
    /// The file whose header was last written to `out`.
    header_written: Option<String>,
    max: MaxRejects,
}

impl Rejects {
    pub fn new(options: &RejectOptions) -> Result<Rejects, LinesError> {
        let out = match &options.out {
            Some(path) => {
                let file = File::create(path).map_err(|cause| LinesError::Rejects {
                    path: path.clone(),
                    cause,
                })?;
                Some((path.clone(), BufWriter::new(file)))
            }
            None => None,
        };
        Ok(Rejects {
            list: Vec::new(),
            out,
            header_written: None,
            max: options.max,
        })
    }

    /// Refuse the line `file` read last. Stops the import (an error) once more lines are refused than
    /// a count limit allows.
    pub fn reject(&mut self, file: &CsvFile, reason: impl Into<String>) -> Result<(), LinesError> {
        self.list.push(Rejected {
            file: file.name.clone(),
            line: file.line,
            reason: reason.into(),
        });
        if let Some((path, out)) = &mut self.out {
            let fail = |cause| LinesError::Rejects {
                path: path.clone(),
                cause,
            };
            if self.header_written.as_deref() != Some(file.name.as_str()) {
                out.write_all(&file.header_raw).map_err(fail)?;
                out.write_all(b"\n").map_err(fail)?;
                self.header_written = Some(file.name.clone());
            }
            out.write_all(&file.raw).map_err(fail)?;
            out.write_all(b"\n").map_err(fail)?;
        }
        if let MaxRejects::Count(limit) = self.max
            && self.list.len() as u64 > limit
        {
            return Err(self.too_many());
        }
        Ok(())
    }

    /// Rejected lines of one file.
    pub fn of(&self, file: &str) -> u64 {
        self.list.iter().filter(|r| r.file == file).count() as u64
    }

    /// Once every file is read: refuse the import when a share limit is passed.
    pub fn check(&self, data_lines: u64) -> Result<(), LinesError> {
        if let MaxRejects::Share(share) = self.max
            && self.list.len() as f64 > share * data_lines as f64
        {
            return Err(self.too_many());
        }
        Ok(())
    }

    fn too_many(&self) -> LinesError {
        LinesError::TooManyRejected {
            rejected: self.list.len() as u64,
            limit: match self.max {
                MaxRejects::Count(n) => format!("{n} line(s)"),
                MaxRejects::Share(share) => format!("{}% of the lines", share * 100.0),
            },
            first: self.list.iter().take(20).cloned().collect(),
        }
    }

    /// Flush the rejected lines' file.
    pub fn finish(&mut self) -> Result<(), LinesError> {
        if let Some((path, out)) = &mut self.out {
            out.flush().map_err(|cause| LinesError::Rejects {
                path: path.clone(),
                cause,
            })?;
        }
        Ok(())
    }
}

/// A CSV file with a header line, read a physical line at a time.
pub struct CsvFile {
    /// The file's name, as rejections name it.
    pub name: String,
    reader: Box<dyn BufRead + Send>,
    columns: Vec<String>,
    header_raw: Vec<u8>,
    /// The physical line number of the line read last.
    pub line: u64,
    /// Data lines read (blank ones included).
    pub data_lines: u64,
    /// The line read last, as it was (without its line end).
    raw: Vec<u8>,
    text: String,
    splitter: csv_core::Reader,
    fields: Vec<u8>,
    /// Where each field of `text` starts and ends.
    starts: Vec<usize>,
    ends: Vec<usize>,
}

/// One data line split into fields.
pub struct Record<'a> {
    text: &'a str,
    starts: &'a [usize],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// The field at `index`, trimmed; `None` past the last field.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        let end = *self.ends.get(index)?;
        Some(self.text[self.starts[index]..end].trim())
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every field, trimmed.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.ends.len()).filter_map(|i| self.get(i))
    }
}

impl CsvFile {
    /// Open a file and read its header line. `read` wraps the file (a progress bar counting bytes).
    pub fn open(
        path: &Path,
        wrap: impl FnOnce(File, u64) -> Box<dyn Read + Send>,
    ) -> Result<CsvFile, LinesError> {
        let file = File::open(path).map_err(|cause| LinesError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_reader(name, wrap(file, size)).map_err(|err| err.with_path(path))
    }

    /// Read CSV from any reader (an uploaded body).
    pub fn from_reader(
        name: impl Into<String>,
        read: Box<dyn Read + Send>,
    ) -> Result<CsvFile, LinesError> {
        let mut file = CsvFile {
            name: name.into(),
            reader: Box::new(BufReader::with_capacity(1 << 20, read)),
            columns: Vec::new(),
            header_raw: Vec::new(),
            line: 0,
            data_lines: 0,
            raw: Vec::new(),
            text: String::new(),
            splitter: csv_core::Reader::new(),
            fields: Vec::new(),
            starts: Vec::new(),
            ends: Vec::new(),
        };
        if !file.read_line()? {
            return Err(file.format("the file is empty: no header line"));
        }
        file.split()
            .map_err(|reason| file.format(&format!("header line: {reason}")))?;
        file.header_raw = file.raw.clone();
        let text = std::mem::take(&mut file.text);
        file.columns = (0..file.ends.len())
            .map(|i| {
                text[file.starts[i]..file.ends[i]]
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        Ok(file)
    }

    fn format(&self, problem: &str) -> LinesError {
        LinesError::Format {
            file: self.name.clone(),
            problem: problem.to_string(),
        }
    }

    /// The header's column names, trimmed.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of the first of `names` the header has (compared without case).
    pub fn column(&self, names: &[&str]) -> Result<usize, LinesError> {
        names
            .iter()
            .find_map(|name| {
                self.columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| self.format(&format!("no column named {}", names.join(" or "))))
    }

    /// The next data line: `Ok(None)` at the end of the file; `Ok(Some(Err(reason)))` for a line that
    /// cannot be split into fields (reject it); `Ok(Some(Ok(record)))` otherwise.
    #[allow(clippy::type_complexity)]
    pub fn next_record(&mut self) -> Result<Option<Result<Record<'_>, String>>, LinesError> {
        if !self.read_line()? {
            return Ok(None);
        }
        self.data_lines += 1;
        if self.text.trim().is_empty() {
            return Ok(Some(Err("blank line".into())));
        }
        if let Err(reason) = self.split() {
            return Ok(Some(Err(reason)));
        }
        if self.text.contains('\0')
            && let Some(i) = (0..self.ends.len())
                .find(|&i| self.text[self.starts[i]..self.ends[i]].contains('\0'))
        {
            let column = self
                .columns
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column {}", i + 1));
            return Ok(Some(Err(format!("{column} holds a NUL character"))));
        }
        Ok(Some(Ok(Record {
            text: &self.text,
            starts: &self.starts,
            ends: &self.ends,
        })))
    }

    /// Read the next physical line into `raw` and `text`; false at the end of the file.
    fn read_line(&mut self) -> Result<bool, LinesError> {
        self.raw.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.raw)
            .map_err(|cause| LinesError::Read {
                path: PathBuf::from(&self.name),
                cause,
            })?;
        if read == 0 {
            return Ok(false);
        }
        self.line += 1;
        while matches!(self.raw.last(), Some(b'\n' | b'\r')) {
            self.raw.pop();
        }
        self.text.clear();
        match std::str::from_utf8(&self.raw) {
            Ok(text) => self.text.push_str(text),
            Err(_) => self.text.extend(self.raw.iter().map(|&b| windows_1252(b))),
        }
        Ok(true)
    }

    /// Split `text` into fields (`starts` and `ends` say where each is in `text`).
    fn split(&mut self) -> Result<(), String> {
        if !self.text.contains('"') {
            // Nearly every line: the fields are the text between commas, found in place.
            self.starts.clear();
            self.ends.clear();
            let mut start = 0;
            for (i, b) in self.text.bytes().enumerate() {
                if b == b',' {
                    self.starts.push(start);
                    self.ends.push(i);
                    start = i + 1;
                }
            }
            self.starts.push(start);
            self.ends.push(self.text.len());
            return Ok(());
        }
        // Quoted fields: unquoted by csv_core, and `text` becomes the fields end to end.
        let quotes = self.text.bytes().filter(|b| *b == b'"').count();
        if quotes % 2 == 1 {
            return Err(
                "unbalanced quote: a field opens a quote that this line never closes".into(),
            );
        }
        self.splitter.reset();
        self.fields.clear();
        self.fields.resize(self.text.len() + 1, 0);
        self.ends.clear();
        self.ends.resize(self.text.len() + 2, 0);
        let mut input = self.text.as_bytes();
        let (mut out_at, mut end_at) = (0, 0);
        loop {
            let (result, read, written, ended) = self.splitter.read_record(
                input,
                &mut self.fields[out_at..],
                &mut self.ends[end_at..],
            );
            input = &input[read..];
            out_at += written;
            end_at += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty if input.is_empty() && read == 0 => {
                    // Signalled the end already and got nothing: an empty record.
                    break;
                }
                csv_core::ReadRecordResult::InputEmpty => continue,
                csv_core::ReadRecordResult::OutputFull => {
                    let more = self.fields.len() * 2 + 16;
                    self.fields.resize(more, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let more = self.ends.len() * 2 + 16;
                    self.ends.resize(more, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        self.ends.truncate(end_at);
        self.fields.truncate(out_at);
        // The unquoted fields are slices of valid UTF-8 split at ASCII bytes: still UTF-8.
        let unquoted = String::from_utf8(std::mem::take(&mut self.fields))
            .map_err(|_| "the line is not valid text".to_string())?;
        self.text = unquoted;
        self.starts.clear();
        self.starts.push(0);
        self.starts
            .extend_from_slice(&self.ends[..self.ends.len().saturating_sub(1)]);
        Ok(())
    }
}

impl LinesError {
    fn with_path(self, path: &Path) -> LinesError {
        match self {
            LinesError::Read { cause, .. } => LinesError::Read {
                path: path.to_path_buf(),
                cause,
            },
            other => other,
        }
    }
}

/// A Windows-1252 byte as a character (the printable ones it adds over Latin-1 that the order logs use;
/// the rest as Latin-1).
fn windows_1252(b: u8) -> char {
    match b {
        0x80 => '\u{20AC}',
        0x91 => '\u{2018}',
        0x92 => '\u{2019}',
        0x93 => '\u{201C}',
        0x94 => '\u{201D}',
        0x96 => '\u{2013}',
        0x97 => '\u{2014}',
        other => other as char,
    }
}

/// CSV files uploaded to the API (imports of leads, contacts, ingredients, recipes and counts): each
/// line read on its own as above, keyed by the header's (lower-cased) names, with what an import says
/// about a line it refuses.
pub mod upload {
    use std::collections::HashMap;

    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::http::error::{ApiError, ApiResult};

    /// At most this many data lines per uploaded file.
    pub const MAX_LINES: usize = 5_000;

    #[derive(Debug, Serialize, ToSchema)]
    pub struct LineError {
        /// Line number in the file (the header is line 1).
        pub line: u64,
        pub errors: Vec<String>,
    }

    pub fn problems(err: &ApiError) -> Vec<String> {
        match &err.errors {
            Some(map) if !map.is_empty() => map
                .iter()
                .flat_map(|(field, list)| list.iter().map(move |p| format!("{field}: {p}")))
                .collect(),
            _ => vec![err.message.clone()],
        }
    }

    /// Rows of a CSV body as header-keyed maps with their line numbers, one physical line each
    /// (`csv_lines`: a stray quote costs its own line only); a line that cannot be read comes back as an
    /// `__error` entry. A missing required column fails the whole file.
    pub fn rows(body: &[u8], required: &[&str]) -> ApiResult<Vec<(u64, HashMap<String, String>)>> {
        let invalid =
            |e: crate::csv_lines::LinesError| ApiError::bad_request("invalid_csv", e.to_string());
        let mut file = crate::csv_lines::CsvFile::from_reader(
            "body",
            Box::new(std::io::Cursor::new(body.to_vec())),
        )
        .map_err(invalid)?;
        let headers: Vec<String> = file.columns().iter().map(|h| h.to_lowercase()).collect();
        let missing: Vec<&str> = required
            .iter()
            .filter(|r| !headers.iter().any(|h| h == *r))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::bad_request(
                "invalid_csv",
                format!("the header lacks the column(s): {}", missing.join(", ")),
            ));
        }
        let mut out = Vec::new();
        while let Some(outcome) = file.next_record().map_err(invalid)? {
            let map = match outcome {
                Ok(record) => headers
                    .iter()
                    .cloned()
                    .zip(record.iter().map(str::to_string))
                    .collect(),
                Err(reason) => HashMap::from([("__error".to_string(), reason)]),
            };
            let line = file.line;
            out.push((line, map));
            if out.len() > MAX_LINES {
                return Err(ApiError::bad_request(
                    "too_many_lines",
                    format!("at most {MAX_LINES} lines per file; split it"),
                ));
            }
        }
        Ok(out)
    }

    pub fn get(map: &HashMap<String, String>, key: &str) -> Option<String> {
        map.get(key).filter(|v| !v.is_empty()).cloned()
    }

    /// A cell as written, less the apostrophe an export puts before one that starts like a formula
    /// (so an exported file imports as it was).
    pub fn cell(map: &HashMap<String, String>, key: &str) -> Option<String> {
        get(map, key).map(|v| match v.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
            _ => v,
        })
    }

    /// `cell` quoted for a spreadsheet: one that starts like a formula gets a leading apostrophe.
    pub fn safe(cell: &str) -> String {
        if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{cell}")
        } else {
            cell.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> CsvFile {
        CsvFile::from_reader(
            "t.csv",
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        )
        .unwrap()
    }

    /// Every line's outcome: fields, or the reason it was refused.
    fn outcomes(text: &str) -> Vec<(u64, Result<Vec<String>, String>)> {
        let mut f = file(text);
        let mut all = Vec::new();
        while let Some(outcome) = f.next_record().unwrap() {
            let outcome = outcome.map(|r| r.iter().map(String::from).collect());
            all.push((f.line, outcome));
        }
        all
    }

    #[test]
    fn lines_with_and_without_quotes_split_alike() {
        let all = outcomes(
            "a,\"b\",c\n1, two ,3\n\"1\",\" two \",\"3\"\n,,\n\"\",\"\",\"\"\nx,\"y,z\"\nonly\n",
        );
        let fields = |i: usize| all[i].1.clone().unwrap();
        assert_eq!(fields(0), ["1", "two", "3"]);
        assert_eq!(fields(1), ["1", "two", "3"]);
        assert_eq!(fields(2), ["", "", ""]);
        assert_eq!(fields(3), ["", "", ""]);
        assert_eq!(fields(4), ["x", "y,z"]);
        assert_eq!(fields(5), ["only"]);
        assert_eq!(file("a,\"b\",c\n").columns(), ["a", "b", "c"]);
    }

    #[test]
    fn a_stray_quote_costs_its_own_line_only() {
        let text = "id,name,status\n1,a,active\n2,\"b,active\n3,c,active\n4,\"d, e\",inactive\n5,\"say \"\"hi\"\"\",active\n";
        let all = outcomes(text);
        assert_eq!(all.len(), 5);
        assert_eq!(
            all[0],
            (2, Ok(vec!["1".into(), "a".into(), "active".into()]))
        );
        assert_eq!(all[1].0, 3);
        assert!(all[1].1.as_ref().unwrap_err().contains("unbalanced quote"));
        assert_eq!(
            all[2],
            (4, Ok(vec!["3".into(), "c".into(), "active".into()]))
        );
        assert_eq!(
            all[3],
            (5, Ok(vec!["4".into(), "d, e".into(), "inactive".into()]))
        );
        assert_eq!(
            all[4],
            (
                6,
                Ok(vec!["5".into(), "say \"hi\"".into(), "active".into()])
            )
        );
    }

    #[test]
    fn blank_lines_crlf_bom_nul_and_windows_1252_are_handled_line_by_line() {
        let mut bytes = b"\xef\xbb\xbfid,name\r\n1,caf\xe9\r\n\r\n2,x\x00y\r\n3,\"\"\r\n".to_vec();
        bytes.extend_from_slice(b"4,last");
        let mut f = CsvFile::from_reader("t.csv", Box::new(std::io::Cursor::new(bytes))).unwrap();
        assert_eq!(f.columns(), ["id", "name"]);
        assert_eq!(f.column(&["NAME"]).unwrap(), 1);
        let mut seen = Vec::new();
        while let Some(outcome) = f.next_record().unwrap() {
            seen.push(outcome.map(|r| r.get(1).unwrap_or_default().to_string()));
        }
        assert_eq!(seen[0], Ok("café".to_string()));
        assert_eq!(seen[1], Err("blank line".to_string()));
        assert_eq!(seen[2], Err("name holds a NUL character".to_string()));
        assert_eq!(seen[3], Ok(String::new()));
        assert_eq!(seen[4], Ok("last".to_string()));
        assert_eq!(f.data_lines, 5);
        assert_eq!(f.line, 6);
    }

    #[test]
    fn rejected_lines_are_written_as_they_were_and_limits_stop_the_import() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rejects.csv");
        let mut rejects = Rejects::new(&RejectOptions {
            out: Some(out.clone()),
            max: MaxRejects::Count(1),
        })
        .unwrap();
        let mut f = file("a,b\n1,\"x\n2,y\n3,\"z\n");
        let mut stopped = None;
        while let Some(outcome) = f.next_record().unwrap() {
            if let Err(reason) = outcome
                && let Err(err) = rejects.reject(&f, reason)
            {
                stopped = Some(err);
                break;
            }
        }
        rejects.finish().unwrap();
        assert!(matches!(
            stopped,
            Some(LinesError::TooManyRejected { rejected: 2, .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "a,b\n1,\"x\n3,\"z\n"
        );
        assert_eq!(rejects.of("t.csv"), 2);

        let share = Rejects::new(&RejectOptions {
            out: None,
            max: "10%".parse().unwrap(),
        })
        .unwrap();
        assert!(share.check(0).is_ok());
        assert_eq!("250".parse::<MaxRejects>(), Ok(MaxRejects::Count(250)));
        assert!("lots".parse::<MaxRejects>().is_err());
        assert!("150%".parse::<MaxRejects>().is_err());
    }
}
