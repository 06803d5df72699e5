//! The disk buffer's segmented log: batches appended in order to segment files,
//! read back in the same order, deleted once every batch of a segment is settled.
//!
//! ```text
//! <dir>/00000000000000000042.seg   batches 42, 43, ... (the name is the first one's number)
//! <dir>/00000000000000000107.seg   the active segment (appends go here)
//! <dir>/settled                    the number of the first batch not settled yet
//! ```
//!
//! A segment is a run of frames, one per batch:
//!
//! ```text
//! [body length: u32 LE][crc32 of body: u32 LE][body]
//! body = [record count: u32 LE] then per record [length: u32 LE][the record's JSON]
//! ```
//!
//! Records are stored as their schema v1 JSON whatever the sink's encoding: the
//! buffer outlives a schema-registry id, and a restart may run another encoding.
//!
//! Crash safety: a frame is written with one `write` call, so a SIGKILL leaves the
//! frames before it whole (the page cache keeps them) and at most the last one torn;
//! opening the log checks every frame's CRC and cuts a torn tail off. `fsync`
//! (per batch or per interval, the caller decides when [`DiskLog::sync`] runs)
//! extends that to a power loss. The `settled` cursor is rewritten (write + rename,
//! no fsync) as batches settle: when it lags after a crash, the batches between it
//! and the truth are published again (duplicates, never loss).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tickbridge_schema::Record;

use crate::sinks::encoding::{encode_as, Encoded, Encoding};
use crate::sinks::Batch;

/// Frame header: body length and CRC.
const HEADER: usize = 8;
/// No batch frame is larger than this; a length above it is a torn or foreign file.
const MAX_FRAME: usize = 1 << 30;
const CURSOR: &str = "settled";
const SUFFIX: &str = ".seg";

/// Errors of the disk buffer.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    #[error("disk buffer: {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("disk buffer: {path}: frame at byte {offset}: {why}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        why: String,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BufferError {
    let path = path.to_path_buf();
    move |source| BufferError::Io {
        action,
        path,
        source,
    }
}

/// One segment file.
#[derive(Debug)]
struct Segment {
    /// Number of its first batch.
    base: u64,
    /// Batches and bytes in it.
    batches: u64,
    bytes: u64,
    path: PathBuf,
}

/// What opening the log found of an earlier run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Batches and records not settled by the earlier run: they are published again.
    pub batches: u64,
    pub records: u64,
    /// Bytes cut off a torn last frame.
    pub truncated_bytes: u64,
}

/// Batches kept in memory past their append, while the reader is caught up: the
/// sink gets them without a read back and a parse (bounded: beyond it, from disk).
const HOT_BYTES: usize = 16 << 20;

/// One batch number from the settled cursor on: a batch written and not settled yet,
/// or a run of batches dropped whole with their segment ([`DiskLog::drop_oldest_unread`])
/// that the reader skips and settling passes over.
#[derive(Debug, Clone, Copy)]
enum Pending {
    /// Records and the first record's `ts_recv` of a batch.
    Batch(u64, i64),
    /// This many consecutive batches no longer on disk.
    Dropped(u64),
}

/// Where the next batch is read from.
#[derive(Debug)]
struct ReadCursor {
    seq: u64,
    /// The open segment being read, and the byte offset of frame `seq` in it.
    file: Option<(u64, File)>,
    offset: u64,
}

/// The log (see the module docs).
#[derive(Debug)]
pub struct DiskLog {
    dir: PathBuf,
    segment_bytes: u64,
    /// Oldest first; the last one is the active segment.
    segments: VecDeque<Segment>,
    active: File,
    /// Bytes on disk in all segments.
    bytes: u64,
    /// Number of the next batch appended.
    next_seq: u64,
    read: ReadCursor,
    /// Batches with a smaller number are settled.
    settled: u64,
    /// Every batch number from `settled` on: the batches not settled yet, and the
    /// dropped runs between them.
    unsettled: VecDeque<Pending>,
    unsettled_batches: u64,
    unsettled_records: u64,
    /// Appended since the last sync.
    dirty: bool,
    /// Batches `read.seq ..` still in memory (contiguous), and their payload bytes.
    hot: VecDeque<Batch>,
    hot_bytes: usize,
}

impl DiskLog {
    /// Opens (creating it if needed) the log in `dir`, recovering what an earlier run
    /// left: a torn last frame is cut off, settled segments are deleted, and every
    /// batch not settled will be read again first.
    pub fn open(dir: &Path, segment_bytes: u64) -> Result<(DiskLog, Recovered), BufferError> {
        fs::create_dir_all(dir).map_err(io("creating", dir))?;
        let settled = read_cursor(dir)?;
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(io("listing", dir))? {
            let entry = entry.map_err(io("listing", dir))?;
            let name = entry.file_name();
            let Some(base) = name
                .to_str()
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            paths.push((base, entry.path()));
        }
        paths.sort();
        let mut recovered = Recovered::default();
        let mut segments = VecDeque::new();
        let mut unsettled = VecDeque::new();
        // The batch number `unsettled` has reached: segments dropped whole leave
        // holes between the kept ones, recorded as dropped runs.
        let mut covered: Option<u64> = None;
        let last = paths.len().saturating_sub(1);
        for (i, (base, path)) in paths.into_iter().enumerate() {
            let scan = scan_segment(&path, i == last)?;
            recovered.truncated_bytes += scan.truncated;
            let batches = scan.frames.len() as u64;
            if base + batches <= settled && i != last {
                fs::remove_file(&path).map_err(io("deleting", &path))?;
                continue;
            }
            let from = base.max(settled);
            if let Some(c) = covered {
                if from > c {
                    unsettled.push_back(Pending::Dropped(from - c));
                }
            }
            for (k, frame) in scan.frames.iter().enumerate() {
                if base + k as u64 >= settled {
                    unsettled.push_back(Pending::Batch(frame.0, frame.1));
                    recovered.batches += 1;
                    recovered.records += frame.0;
                }
            }
            covered = Some(from.max(base + batches));
            segments.push_back(Segment {
                base,
                batches,
                bytes: scan.bytes,
                path,
            });
        }
        let next_seq = segments
            .back()
            .map_or(settled, |s| (s.base + s.batches).max(settled));
        // Batches before the first kept segment are settled whatever the cursor says.
        let settled = next_seq - pending_batches(&unsettled);
        if segments.is_empty() {
            let path = segment_path(dir, next_seq);
            File::create(&path).map_err(io("creating", &path))?;
            segments.push_back(Segment {
                base: next_seq,
                batches: 0,
                bytes: 0,
                path,
            });
        }
        let active_path = &segments.back().expect("one segment at least").path;
        let active = OpenOptions::new()
            .append(true)
            .open(active_path)
            .map_err(io("opening", active_path))?;
        let bytes = segments.iter().map(|s| s.bytes).sum();
        let unsettled_records = unsettled
            .iter()
            .map(|p| match p {
                Pending::Batch(n, _) => *n,
                Pending::Dropped(_) => 0,
            })
            .sum();
        let log = DiskLog {
            dir: dir.to_path_buf(),
            segment_bytes: segment_bytes.max(1),
            segments,
            active,
            bytes,
            next_seq,
            read: ReadCursor {
                seq: settled,
                file: None,
                offset: 0,
            },
            settled,
            unsettled,
            unsettled_batches: recovered.batches,
            unsettled_records,
            dirty: false,
            hot: VecDeque::new(),
            hot_bytes: 0,
        };
        Ok((log, recovered))
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records written and not settled yet (read or not).
    pub fn unsettled_records(&self) -> u64 {
        self.unsettled_records
    }

    /// `ts_recv` of the oldest record not settled yet.
    pub fn oldest_ts_recv(&self) -> Option<i64> {
        self.unsettled.iter().find_map(|p| match p {
            Pending::Batch(_, ts) => Some(*ts),
            Pending::Dropped(_) => None,
        })
    }

    /// Batches written and not settled yet.
    pub fn unsettled_batches(&self) -> u64 {
        self.unsettled_batches
    }

    /// Whether a batch is waiting to be read.
    pub fn has_unread(&self) -> bool {
        self.read.seq < self.next_seq
    }

    /// Appends `batch` as one frame (rolling to a new segment first when the active
    /// one is full); returns the bytes written. Durable against a crash of the
    /// process at once, against a power loss after the next [`DiskLog::sync`]. The
    /// batch's items are in `encoding` (with `json` their payload is what is stored).
    pub fn append(&mut self, batch: Batch, encoding: Encoding) -> Result<u64, BufferError> {
        let frame = encode_frame(&batch, encoding);
        let active = self.segments.back().expect("one segment at least");
        if active.bytes > 0 && active.bytes + frame.len() as u64 > self.segment_bytes {
            self.roll()?;
        }
        let active = self.segments.back_mut().expect("one segment at least");
        self.active
            .write_all(&frame)
            .map_err(io("writing", &active.path))?;
        active.batches += 1;
        active.bytes += frame.len() as u64;
        self.bytes += frame.len() as u64;
        self.next_seq += 1;
        let first_ts = batch.items.first().map_or(0, |i| i.record.ts_recv);
        self.unsettled
            .push_back(Pending::Batch(batch.len() as u64, first_ts));
        self.unsettled_batches += 1;
        self.unsettled_records += batch.len() as u64;
        self.dirty = true;
        // Kept in memory only while the batches in memory reach back to the reader.
        let seq = self.next_seq - 1;
        let contiguous = seq == self.read.seq + self.hot.len() as u64;
        if contiguous && self.hot_bytes + batch.bytes <= HOT_BYTES {
            self.hot_bytes += batch.bytes;
            self.hot.push_back(batch);
        }
        Ok(frame.len() as u64)
    }

    /// Flushes appended frames to the disk itself (`fdatasync`).
    pub fn sync(&mut self) -> Result<(), BufferError> {
        if self.dirty {
            let path = &self.segments.back().expect("one segment at least").path;
            self.active.sync_data().map_err(io("syncing", path))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Closes the active segment (synced) and starts a new one at `next_seq`.
    fn roll(&mut self) -> Result<(), BufferError> {
        self.sync()?;
        let path = segment_path(&self.dir, self.next_seq);
        self.active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("creating", &path))?;
        self.segments.push_back(Segment {
            base: self.next_seq,
            batches: 0,
            bytes: 0,
            path,
        });
        Ok(())
    }

    /// Reads the next batch (call only while [`DiskLog::has_unread`]), encoded as
    /// the sink wants it.
    pub fn read_next(&mut self, encoding: Encoding) -> Result<Batch, BufferError> {
        if let Some(batch) = self.hot.pop_front() {
            self.hot_bytes -= batch.bytes;
            self.read.seq += 1;
            // The file position no longer follows: the next read from disk reopens.
            self.read.file = None;
            self.skip_dropped();
            return Ok(batch);
        }
        let seq = self.read.seq;
        let segment = self
            .segments
            .iter()
            .rev()
            .find(|s| s.base <= seq)
            .expect("an unread batch lies in a segment");
        let (base, path) = (segment.base, segment.path.clone());
        if self.read.file.as_ref().map(|(b, _)| *b) != Some(base) {
            let mut file = File::open(&path).map_err(io("opening", &path))?;
            // Frames before `seq` in this segment were settled by an earlier run.
            let mut offset = 0;
            for _ in base..seq {
                let (len, _) = read_header(&mut file, &path, offset)?;
                offset += (HEADER + len) as u64;
                file.seek(SeekFrom::Start(offset))
                    .map_err(io("seeking", &path))?;
            }
            self.read = ReadCursor {
                seq,
                file: Some((base, file)),
                offset,
            };
        }
        let offset = self.read.offset;
        let (_, file) = self.read.file.as_mut().expect("opened above");
        let (items, len) = read_frame(file, &path, offset, encoding)?;
        self.read.offset += len;
        self.read.seq += 1;
        self.skip_dropped();
        let bytes = items.iter().map(|i| i.payload.len()).sum();
        Ok(Batch { items, bytes })
    }

    /// The oldest `n` unsettled batches are settled (delivered, dead-lettered or
    /// failed): segments holding only settled batches are deleted, and once all is
    /// settled the log starts over with an empty segment.
    pub fn settle(&mut self, n: u64) -> Result<(), BufferError> {
        let mut left = n;
        loop {
            match self.unsettled.front().copied() {
                // Dropped runs are passed over as soon as they are the oldest.
                Some(Pending::Dropped(k)) => {
                    self.unsettled.pop_front();
                    self.settled += k;
                }
                Some(Pending::Batch(records, _)) if left > 0 => {
                    self.unsettled.pop_front();
                    self.unsettled_batches -= 1;
                    self.unsettled_records -= records;
                    self.settled += 1;
                    left -= 1;
                }
                _ => break,
            }
        }
        assert_eq!(left, 0, "settling a batch that was written");
        while self.segments.len() > 1 && {
            let s = &self.segments[0];
            s.base + s.batches <= self.settled
        } {
            let s = self.segments.pop_front().expect("checked");
            if self.read.file.as_ref().is_some_and(|(b, _)| *b == s.base) {
                self.read.file = None;
            }
            fs::remove_file(&s.path).map_err(io("deleting", &s.path))?;
            self.bytes -= s.bytes;
        }
        if self.unsettled_batches == 0 && self.bytes > 0 {
            // Everything is settled: a fresh segment instead of a growing one.
            self.roll()?;
            let old = self.segments.pop_front().expect("the one before the new");
            self.read.file = None;
            fs::remove_file(&old.path).map_err(io("deleting", &old.path))?;
            self.bytes -= old.bytes;
        }
        self.write_cursor()
    }

    /// Drops the oldest segment whose batches are all unread (`when_full =
    /// "drop_oldest"`): its file is deleted and its batches are skipped by the reader
    /// and by settling. Batches being read or in flight are never dropped, nor is the
    /// active segment: `None` when no segment qualifies. Returns the dropped records
    /// (decoded from the file, so the caller can count and announce them).
    pub fn drop_oldest_unread(&mut self) -> Result<Option<Vec<Record>>, BufferError> {
        let last = self.segments.len() - 1;
        let Some(at) = (0..last).find(|&i| self.segments[i].base >= self.read.seq) else {
            return Ok(None);
        };
        let (base, batches) = (self.segments[at].base, self.segments[at].batches);
        // The records, for the caller's count and time range.
        let mut records = Vec::new();
        let path = self.segments[at].path.clone();
        let mut file = File::open(&path).map_err(io("opening", &path))?;
        let mut offset = 0u64;
        for _ in 0..batches {
            let (items, len) = read_frame(&mut file, &path, offset, Encoding::Json)?;
            records.extend(items.into_iter().map(|i| i.record));
            offset += len;
        }
        fs::remove_file(&path).map_err(io("deleting", &path))?;
        let segment = self.segments.remove(at).expect("found above");
        self.bytes -= segment.bytes;
        if self.read.file.as_ref().is_some_and(|(b, _)| *b == base) {
            self.read.file = None;
        }
        // Batches kept in memory from the dropped ones on no longer follow the reader.
        let hot_from = (base - self.read.seq) as usize;
        while self.hot.len() > hot_from {
            let batch = self.hot.pop_back().expect("checked");
            self.hot_bytes -= batch.bytes;
        }
        // Their entries become one dropped run.
        let first = (base - self.settled) as usize;
        let mut run = 0u64;
        let mut index = 0usize;
        let mut rebuilt = VecDeque::with_capacity(self.unsettled.len());
        for p in self.unsettled.drain(..) {
            let span = match p {
                Pending::Batch(..) => 1,
                Pending::Dropped(k) => k as usize,
            };
            let inside = index >= first && index + span <= first + batches as usize;
            index += span;
            if inside {
                if let Pending::Batch(n, _) = p {
                    self.unsettled_batches -= 1;
                    self.unsettled_records -= n;
                }
                run += span as u64;
                continue;
            }
            if run > 0 {
                rebuilt.push_back(Pending::Dropped(run));
                run = 0;
            }
            rebuilt.push_back(p);
        }
        if run > 0 {
            rebuilt.push_back(Pending::Dropped(run));
        }
        self.unsettled = merge_dropped(rebuilt);
        self.skip_dropped();
        // Dropped runs at the front are settled at once.
        self.settle(0)?;
        Ok(Some(records))
    }

    /// Moves the reader over dropped batches: from the end of its segment to the
    /// start of the next kept one.
    fn skip_dropped(&mut self) {
        let seq = self.read.seq;
        let Some(at) = self.segments.iter().rposition(|s| s.base <= seq) else {
            return;
        };
        let end = self.segments[at].base + self.segments[at].batches;
        if let Some(next) = self.segments.get(at + 1) {
            if seq >= end && next.base > seq {
                self.read.seq = next.base;
                self.read.file = None;
            }
        }
    }

    fn write_cursor(&self) -> Result<(), BufferError> {
        let tmp = self.dir.join(format!("{CURSOR}.tmp"));
        fs::write(&tmp, self.settled.to_le_bytes()).map_err(io("writing", &tmp))?;
        let path = self.dir.join(CURSOR);
        fs::rename(&tmp, &path).map_err(io("renaming", &path))
    }
}

/// Batch numbers `pending` spans.
fn pending_batches(pending: &VecDeque<Pending>) -> u64 {
    pending
        .iter()
        .map(|p| match p {
            Pending::Batch(..) => 1,
            Pending::Dropped(k) => *k,
        })
        .sum()
}

/// Adjacent dropped runs as one.
fn merge_dropped(pending: VecDeque<Pending>) -> VecDeque<Pending> {
    let mut out: VecDeque<Pending> = VecDeque::with_capacity(pending.len());
    for p in pending {
        match (out.back_mut(), p) {
            (Some(Pending::Dropped(a)), Pending::Dropped(b)) => *a += b,
            _ => out.push_back(p),
        }
    }
    out
}

/// Reads the frame at `offset` (the file positioned there), checks its CRC and
/// decodes its records as `encoding`; returns them and the frame's length on disk.
fn read_frame(
    file: &mut File,
    path: &Path,
    offset: u64,
    encoding: Encoding,
) -> Result<(Vec<Encoded>, u64), BufferError> {
    let (len, crc) = read_header(file, path, offset)?;
    let mut body = vec![0u8; len];
    file.read_exact(&mut body).map_err(io("reading", path))?;
    if crc32fast::hash(&body) != crc {
        return Err(corrupt(path, offset, "CRC mismatch"));
    }
    let items = decode_body(&body, encoding).map_err(|why| corrupt(path, offset, &why))?;
    Ok((items, (HEADER + len) as u64))
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{SUFFIX}"))
}

fn corrupt(path: &Path, offset: u64, why: &str) -> BufferError {
    BufferError::Corrupt {
        path: path.to_path_buf(),
        offset,
        why: why.to_string(),
    }
}

/// The settled cursor of an earlier run (0 when there is none).
fn read_cursor(dir: &Path) -> Result<u64, BufferError> {
    let path = dir.join(CURSOR);
    match fs::read(&path) {
        Ok(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(b) => Ok(u64::from_le_bytes(b)),
            Err(_) => Err(corrupt(&path, 0, "the cursor is not 8 bytes")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io("reading", &path)(e)),
    }
}

fn read_header(file: &mut File, path: &Path, offset: u64) -> Result<(usize, u32), BufferError> {
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header).map_err(io("reading", path))?;
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    if len > MAX_FRAME {
        return Err(corrupt(path, offset, &format!("length {len} out of range")));
    }
    Ok((len, crc))
}

/// What a segment holds: records and first `ts_recv` per whole frame, its whole
/// bytes, what was cut.
struct Scan {
    frames: Vec<(u64, i64)>,
    bytes: u64,
    truncated: u64,
}

/// Checks every frame of a segment. A frame that is short or fails its CRC ends the
/// segment: in the last segment that is a torn write, cut off; in an earlier one the
/// file was damaged, which is an error (its later frames cannot be trusted).
fn scan_segment(path: &Path, last: bool) -> Result<Scan, BufferError> {
    let data = fs::read(path).map_err(io("reading", path))?;
    let mut frames = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let whole = (|| {
            let header = data.get(at..at + HEADER)?;
            let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
            let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
            let body = data.get(at + HEADER..at + HEADER + len)?;
            (crc32fast::hash(body) == crc && body.len() >= 4).then(|| {
                let n = u32::from_le_bytes(body[..4].try_into().expect("4 bytes"));
                (len, n as u64, first_ts_recv(body))
            })
        })();
        match whole {
            Some((len, n, ts)) => {
                frames.push((n, ts));
                at += HEADER + len;
            }
            None if last => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io("opening", path))?;
                file.set_len(at as u64).map_err(io("truncating", path))?;
                file.sync_all().map_err(io("syncing", path))?;
                return Ok(Scan {
                    frames,
                    bytes: at as u64,
                    truncated: (data.len() - at) as u64,
                });
            }
            None => return Err(corrupt(path, at as u64, "damaged frame in a full segment")),
        }
    }
    Ok(Scan {
        frames,
        bytes: at as u64,
        truncated: 0,
    })
}

/// `ts_recv` of a frame body's first record (0 when it cannot be read).
fn first_ts_recv(body: &[u8]) -> i64 {
    #[derive(serde::Deserialize)]
    struct Times {
        ts_recv: i64,
    }
    let Some(len) = body.get(4..8) else { return 0 };
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    body.get(8..8 + len)
        .and_then(|json| serde_json::from_slice::<Times>(json).ok())
        .map_or(0, |t| t.ts_recv)
}

fn encode_frame(batch: &Batch, encoding: Encoding) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER + 4 + batch.bytes + 4 * batch.len());
    frame.extend_from_slice(&[0u8; HEADER]);
    frame.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    for item in &batch.items {
        let at = frame.len();
        frame.extend_from_slice(&[0u8; 4]);
        match encoding {
            // The JSON payload is the record's JSON, byte for byte.
            Encoding::Json => frame.extend_from_slice(&item.payload),
            _ => item.record.write_json(&mut frame),
        }
        let len = (frame.len() - at - 4) as u32;
        frame[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    let body_len = (frame.len() - HEADER) as u32;
    let crc = crc32fast::hash(&frame[HEADER..]);
    frame[..4].copy_from_slice(&body_len.to_le_bytes());
    frame[4..HEADER].copy_from_slice(&crc.to_le_bytes());
    frame
}

fn decode_body(body: &[u8], encoding: Encoding) -> Result<Vec<Encoded>, String> {
    let count = body.get(..4).ok_or("no record count")?;
    let n = u32::from_le_bytes(count.try_into().expect("4 bytes")) as usize;
    let mut items = Vec::with_capacity(n.min(body.len() / 4));
    let mut at = 4;
    for i in 0..n {
        let len = body
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| format!("record {i} of {n}: no length"))?;
        let json = body
            .get(at + 4..at + 4 + len)
            .ok_or_else(|| format!("record {i} of {n}: short"))?;
        let record: Record =
            serde_json::from_slice(json).map_err(|e| format!("record {i} of {n}: {e}"))?;
        items.push(match encoding {
            // The stored JSON is the JSON encoding's payload, byte for byte.
            Encoding::Json => Encoded {
                record,
                payload: json.to_vec(),
                refused: None,
            },
            other => encode_as(record, other),
        });
        at += 4 + len;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_record;
    use crate::sinks::encoding::encode;

    fn batch(seqs: std::ops::Range<u64>) -> Batch {
        let items: Vec<Encoded> = seqs.map(|s| encode(test_record(s))).collect();
        let bytes = items.iter().map(|i| i.payload.len()).sum();
        Batch { items, bytes }
    }

    fn seqs(batch: &Batch) -> Vec<u64> {
        batch.items.iter().map(|i| i.record.seq.unwrap()).collect()
    }

    fn segment_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(SUFFIX))
            .collect();
        names.sort();
        names
    }

    /// The seqs of every batch left to read, in order.
    fn unread_seqs(log: &mut DiskLog) -> Vec<u64> {
        let mut got = Vec::new();
        while log.has_unread() {
            got.extend(seqs(&log.read_next(Encoding::Json).unwrap()));
        }
        got
    }

    /// Opens the log again, as the next start would: every read comes from disk.
    fn reopen(dir: &Path, segment_bytes: u64) -> DiskLog {
        DiskLog::open(dir, segment_bytes).unwrap().0
    }

    #[test]
    fn while_the_reader_keeps_up_batches_come_from_memory_then_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = DiskLog::open(dir.path(), 1 << 20).unwrap();
        log.append(batch(1..3), Encoding::Json).unwrap();
        log.append(batch(3..5), Encoding::Json).unwrap();
        assert_eq!(log.hot.len(), 2);
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [1, 2]);
        // Past the memory bound a batch is on disk only, and so are those after it.
        log.hot_bytes = HOT_BYTES;
        log.append(batch(5..6), Encoding::Json).unwrap();
        log.hot_bytes = log.hot.iter().map(|b| b.bytes).sum();
        log.append(batch(6..7), Encoding::Json).unwrap();
        assert_eq!(log.hot.len(), 1, "only batch 3..5 is in memory");
        let mut got = Vec::new();
        while log.has_unread() {
            got.push(seqs(&log.read_next(Encoding::Json).unwrap()));
        }
        assert_eq!(got, [vec![3, 4], vec![5], vec![6]]);
    }

    #[test]
    fn batches_come_back_in_order_with_the_json_payload_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, recovered) = DiskLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(recovered, Recovered::default());
        let written = batch(1..4);
        log.append(batch(1..4), Encoding::Json).unwrap();
        log.append(batch(4..6), Encoding::Json).unwrap();
        drop(log);
        let mut log = reopen(dir.path(), 1 << 20);
        assert_eq!(log.unsettled_records(), 5);
        let first = log.read_next(Encoding::Json).unwrap();
        assert_eq!(seqs(&first), [1, 2, 3]);
        for (a, b) in first.items.iter().zip(&written.items) {
            assert_eq!(a.payload, b.payload);
            assert_eq!(a.record, b.record);
        }
        assert_eq!(first.bytes, written.bytes);
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [4, 5]);
        assert!(!log.has_unread());
    }

    #[test]
    fn settled_segments_are_deleted_and_an_all_settled_log_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        // Each batch frame is a few hundred bytes: one batch per segment.
        let (mut log, _) = DiskLog::open(dir.path(), 100).unwrap();
        for i in 0..3 {
            log.append(batch(i * 2..i * 2 + 2), Encoding::Json).unwrap();
        }
        assert_eq!(segment_files(dir.path()).len(), 3);
        for _ in 0..3 {
            log.read_next(Encoding::Json).unwrap();
        }
        log.settle(1).unwrap();
        assert_eq!(
            segment_files(dir.path()),
            ["00000000000000000001.seg", "00000000000000000002.seg"]
        );
        assert_eq!(log.unsettled_records(), 4);
        log.settle(2).unwrap();
        assert_eq!(segment_files(dir.path()), ["00000000000000000003.seg"]);
        assert_eq!(log.bytes(), 0);
        assert_eq!(log.unsettled_batches(), 0);
    }

    #[test]
    fn a_reopened_log_resends_exactly_the_unsettled_batches() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, _) = DiskLog::open(dir.path(), 1 << 20).unwrap();
            for i in 0..4 {
                log.append(batch(i * 10..i * 10 + 3), Encoding::Json)
                    .unwrap();
            }
            log.read_next(Encoding::Json).unwrap();
            log.read_next(Encoding::Json).unwrap();
            log.settle(1).unwrap();
            // Dropped without a sync or a close, as a SIGKILL would leave it.
        }
        let (mut log, recovered) = DiskLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                batches: 3,
                records: 9,
                truncated_bytes: 0
            }
        );
        let got = unread_seqs(&mut log);
        assert_eq!(got, [10, 11, 12, 20, 21, 22, 30, 31, 32]);
        // New batches follow the recovered ones.
        log.append(batch(40..41), Encoding::Json).unwrap();
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [40]);
    }

    #[test]
    fn drop_oldest_takes_the_oldest_unread_segment_and_the_reader_and_settling_skip_it() {
        let dir = tempfile::tempdir().unwrap();
        // One batch per segment: batches 0..5 in segments 0..5, the 5th active.
        let (mut log, _) = DiskLog::open(dir.path(), 100).unwrap();
        for i in 0..5 {
            log.append(batch(i * 10..i * 10 + 2), Encoding::Json)
                .unwrap();
        }
        // Batch 0 is in flight: never dropped, nor is the active segment.
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [0, 1]);
        let dropped = log.drop_oldest_unread().unwrap().unwrap();
        let dropped: Vec<u64> = dropped.iter().map(|r| r.seq.unwrap()).collect();
        assert_eq!(dropped, [10, 11]);
        let dropped = log.drop_oldest_unread().unwrap().unwrap();
        assert_eq!(dropped.len(), 2);
        assert_eq!(
            segment_files(dir.path()),
            [
                "00000000000000000000.seg",
                "00000000000000000003.seg",
                "00000000000000000004.seg"
            ]
        );
        assert_eq!((log.unsettled_batches(), log.unsettled_records()), (3, 6));
        // The reader goes on after the hole.
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [30, 31]);
        // Settling batch 0 passes over the dropped 1 and 2; its segment goes.
        log.settle(1).unwrap();
        assert_eq!(log.settled, 3);
        assert_eq!(segment_files(dir.path()).len(), 2);
        // Only the active segment is left unread: nothing more to drop.
        assert!(log.drop_oldest_unread().unwrap().is_none());
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [40, 41]);
        assert!(!log.has_unread());
        log.settle(2).unwrap();
        assert_eq!((log.unsettled_batches(), log.bytes()), (0, 0));
    }

    #[test]
    fn a_reopened_log_with_a_dropped_segment_resends_the_rest_and_skips_the_hole() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, _) = DiskLog::open(dir.path(), 100).unwrap();
            for i in 0..5 {
                log.append(batch(i * 10..i * 10 + 2), Encoding::Json)
                    .unwrap();
            }
            // Batch 0 in flight (unsettled), batch 1 dropped; then a SIGKILL: no
            // settle, no sync.
            log.read_next(Encoding::Json).unwrap();
            log.drop_oldest_unread().unwrap().unwrap();
        }
        let (mut log, recovered) = DiskLog::open(dir.path(), 100).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                batches: 4,
                records: 8,
                truncated_bytes: 0
            }
        );
        let got = unread_seqs(&mut log);
        assert_eq!(got, [0, 1, 20, 21, 30, 31, 40, 41]);
        log.settle(4).unwrap();
        assert_eq!((log.unsettled_batches(), log.bytes()), (0, 0));
        assert_eq!(log.settled, 5);
    }

    #[test]
    fn a_torn_last_frame_is_cut_off_and_the_whole_ones_survive() {
        let dir = tempfile::tempdir().unwrap();
        let whole_len;
        {
            let (mut log, _) = DiskLog::open(dir.path(), 1 << 20).unwrap();
            log.append(batch(1..3), Encoding::Json).unwrap();
            whole_len = log.bytes();
            log.append(batch(3..5), Encoding::Json).unwrap();
        }
        let path = dir.path().join(&segment_files(dir.path())[0]);
        let full = fs::metadata(&path).unwrap().len();
        // The second frame half written.
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(whole_len + (full - whole_len) / 2).unwrap();
        drop(file);
        let (mut log, recovered) = DiskLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(recovered.batches, 1);
        assert_eq!(recovered.records, 2);
        assert_eq!(recovered.truncated_bytes, (full - whole_len) / 2);
        assert_eq!(fs::metadata(&path).unwrap().len(), whole_len);
        assert_eq!(seqs(&log.read_next(Encoding::Json).unwrap()), [1, 2]);
        assert!(!log.has_unread());
    }

    #[test]
    fn a_damaged_frame_in_a_full_segment_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, _) = DiskLog::open(dir.path(), 100).unwrap();
            log.append(batch(1..3), Encoding::Json).unwrap();
            log.append(batch(3..5), Encoding::Json).unwrap();
        }
        let path = dir.path().join(&segment_files(dir.path())[0]);
        let mut data = fs::read(&path).unwrap();
        data[HEADER + 10] ^= 0xff;
        fs::write(&path, data).unwrap();
        let err = DiskLog::open(dir.path(), 100).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "disk buffer: {}: frame at byte 0: damaged frame in a full segment",
                path.display()
            )
        );
    }

    #[test]
    fn other_encodings_are_encoded_again_from_the_stored_json() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = DiskLog::open(dir.path(), 1 << 20).unwrap();
        log.append(batch(7..8), Encoding::Json).unwrap();
        drop(log);
        let read = reopen(dir.path(), 1 << 20)
            .read_next(Encoding::Protobuf)
            .unwrap();
        assert_eq!(
            read.items[0].payload,
            encode_as(test_record(7), Encoding::Protobuf).payload
        );
    }
}
