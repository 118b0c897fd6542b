package capture

import (
	"fmt"
	"path/filepath"
)

// StoreProblem is why a capture store cannot be used as it is.
type StoreProblem int

// The problems Open reports as a *StoreError.
const (
	// NotADirectory: the store's path exists and is not a directory.
	NotADirectory StoreProblem = iota + 1
	// NewerSchema: the index was written by a newer omega-listen.
	NewerSchema
	// UnknownSchema: the index carries a schema number no version uses.
	UnknownSchema
	// DamagedIndex: the index file is damaged or not a database at all.
	DamagedIndex
)

// StoreError is a capture store that cannot be used as it is. Its text
// says what to do with the store itself; the command layer adds how to
// choose another one.
type StoreError struct {
	Problem StoreProblem
	// Path is the store's directory, or for DamagedIndex its index file.
	Path string
	// Schema is the index's schema number, for the schema problems.
	Schema int
	// Err is the database's own error, for DamagedIndex.
	Err error
}

func (e *StoreError) Error() string {
	switch e.Problem {
	case NotADirectory:
		return fmt.Sprintf("capture store %s is not a directory", e.Path)
	case NewerSchema:
		return fmt.Sprintf("the store was written by a newer omega-listen (schema %d, this one knows %d): upgrade omega-listen", e.Schema, schemaVersion)
	case UnknownSchema:
		return fmt.Sprintf("unknown capture store schema %d: move the store aside", e.Schema)
	case DamagedIndex:
		// The bodies files belong with it: move the whole store.
		dir := e.Dir()
		return fmt.Sprintf("capture index %s is damaged or not an omega-listen store (%v): move it aside with the rest of its store (mv %s %s.bad) to start an empty store",
			e.Path, e.Err, dir, dir)
	}
	return fmt.Sprintf("capture store %s: problem %d", e.Path, int(e.Problem))
}

func (e *StoreError) Unwrap() error { return e.Err }

// Dir is the store's directory.
func (e *StoreError) Dir() string {
	if e.Problem == DamagedIndex {
		return filepath.Dir(e.Path)
	}
	return e.Path
}
