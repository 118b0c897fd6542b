// Package journal is the file side of the capture store: the append-only
// journal that Begin and Finish write, the segment files it is made of, and
// the frames its records are in. What a record holds, and what the store
// does with it (index it in SQLite, retire or delete a file), is package
// capture's business; this package knows bytes, files and offsets.
//
// # Frames
//
// A record is framed as
//
//	length uint32 LE | crc32c uint32 LE | body (length bytes)
//
// (StartFrame, EndFrame, Seal). The CRC covers the whole body, so a frame
// cut short by a crash or damaged on disk is recognised rather than misread:
// Next tells a torn frame (ErrTorn: the file ends inside it) from a damaged
// one.
//
// # Writing
//
// A Journal appends whole frames to the segment file it is writing,
// serialised by one lock. When Append returns nil its write(2) has
// completed: the record is in the page cache and survives the death of the
// process (SIGKILL, panic, OOM kill), though not of the machine, since
// nothing is fsynced. A failed write is taken back (the file is truncated
// to its last whole frame), so the frames before it stay readable; if even
// that fails, the next Append starts a new file. Append can give a record a
// sequence number under the same lock, so sequence order is the order of
// the records in the journal.
//
// A journal position counts the bytes of whole frames appended since New,
// across all the journal's files. Unread finds the frames from a position
// on, for the reader (the store's indexer) to read back from the file.
//
// # Segment files and their names
//
// Past a size (New's max) appends move to a new file, so that old frames
// can be dropped by deleting whole files. A segment's name is
// <pid>-<random>-<n>; while written its file is journal-<name>.seg (Path),
// created and locked (flock) under a temporary name, so no other store
// takes it for a dead one's. The lock is held while the file may still be
// needed. Release hands back the files whose frames are all before a
// position (the store has indexed them), Close all of them; the caller
// then renames each bodies-<name>.seg (BodiesPath) or deletes it, and
// closes it, which drops the lock. A segment changes name only that once,
// atomically, so Files, looking under both names in that order, cannot
// miss a file that exists.
//
// A journal file nobody holds belongs to a store that died: Orphans lists
// them, Claim takes one for replay.
package journal
