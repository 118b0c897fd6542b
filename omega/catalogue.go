package omega

import (
	"fmt"
	"sort"
	"strings"
)

// State is what Omega's docs say about whether a type is ever sent.
type State string

const (
	// StateLive types are sent to every account.
	StateLive State = "live"
	// StateSomeAccounts types are sent only to some accounts.
	StateSomeAccounts State = "some accounts"
	// StateNoEffect types can be subscribed to but are not sent now.
	StateNoEffect State = "no effect now"
)

// TypeInfo describes one event type.
type TypeInfo struct {
	Type    string
	State   State
	Meaning string
	// Note qualifies State where the docs disagree with themselves.
	Note string
	// VideoStatus is the video status a sample event of this type carries.
	VideoStatus string
}

// Event type names.
const (
	TypeProcessFailed       = "video.process_failed"
	TypeProcessSucceeded    = "video.process_succeeded"
	TypeDeleted             = "video.deleted"
	TypeFailedToDelete      = "video.failed_to_delete"
	TypeDeletionReverted    = "video.deletion_reverted"
	TypeUploaded            = "video.uploaded"
	TypeReadyForProcessing  = "video.ready_for_processing"
	TypeInProgress          = "video.in_progress"
	TypeCompletedProcessing = "video.completed_processing"
	TypeReadyToWatch        = "video.ready_to_watch"
)

// Catalogue lists every documented event type, live ones first.
var Catalogue = []TypeInfo{
	{TypeProcessFailed, StateLive, "processing failed", "", "process-failed"},
	{TypeProcessSucceeded, StateLive, "processing succeeded (the documented \"video is done\" signal)", "", "process-completed"},
	{TypeDeleted, StateLive, "video marked for deletion", "one page says some accounts", "process-completed"},
	{TypeFailedToDelete, StateLive, "marking for deletion failed", "one page says some accounts", "process-completed"},
	{TypeDeletionReverted, StateLive, "deletion reverted", "one page says some accounts", "process-completed"},
	{TypeUploaded, StateSomeAccounts, "uploaded, ready to be pushed for processing", "", "uploaded"},
	{TypeReadyForProcessing, StateNoEffect, "pushed for processing", "", "uploaded"},
	{TypeInProgress, StateNoEffect, "being processed", "", "in-progress"},
	{TypeCompletedProcessing, StateNoEffect, "processing complete, success not yet confirmed", "", "in-progress"},
	{TypeReadyToWatch, StateNoEffect, "ready to watch", "", "process-completed"},
}

// Lookup finds a type in the catalogue.
func Lookup(t string) (TypeInfo, bool) {
	for _, ti := range Catalogue {
		if ti.Type == t {
			return ti, true
		}
	}
	return TypeInfo{}, false
}

// Known reports whether t is a documented event type.
func Known(t string) bool { _, ok := Lookup(t); return ok }

// AllTypes returns every type name in catalogue order.
func AllTypes() []string {
	out := make([]string, len(Catalogue))
	for i, ti := range Catalogue {
		out[i] = ti.Type
	}
	return out
}

// LiveTypes returns the types the docs call live: the default subscription.
func LiveTypes() []string {
	var out []string
	for _, ti := range Catalogue {
		if ti.State == StateLive {
			out = append(out, ti.Type)
		}
	}
	return out
}

// UnknownTypeError names a type that is not in the catalogue.
type UnknownTypeError struct{ Type string }

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("unknown event type %q; valid types: %s (or \"all\")", e.Type, strings.Join(AllTypes(), ", "))
}

// ParseTypes parses a comma-separated list of types, or "all". Empty input
// yields the live types. Duplicates are removed; order follows the input.
func ParseTypes(list string) ([]string, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return LiveTypes(), nil
	}
	if strings.EqualFold(list, "all") {
		return AllTypes(), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.EqualFold(p, "all") {
			return AllTypes(), nil
		}
		if !Known(p) {
			return nil, &UnknownTypeError{Type: p}
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return LiveTypes(), nil
	}
	return out, nil
}

// AllNoEffect reports whether every type in ts has no effect now, so a
// subscription to them will never see a delivery.
func AllNoEffect(ts []string) bool {
	if len(ts) == 0 {
		return false
	}
	for _, t := range ts {
		if ti, ok := Lookup(t); !ok || ti.State != StateNoEffect {
			return false
		}
	}
	return true
}

// SortedTypes returns ts sorted, for stable output.
func SortedTypes(ts []string) []string {
	out := append([]string(nil), ts...)
	sort.Strings(out)
	return out
}
