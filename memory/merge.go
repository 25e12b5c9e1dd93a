package memory

// Merge is the one merge rule of Cairn, decided on cleartext fields alone:
// what becomes of a stored record when another version of it arrives. The
// vault (Apply, ApplyBatch, plain import) and sync's backup store, which
// holds records it cannot open, both carry out what it says, so every
// store that sees the same versions ends up with the same record and the
// same revisions, whatever the order they came in.
type Merge struct {
	// Outcome is what applying the version reports. KeptAsRevision means the
	// incoming version is stored as a revision; a store that already had
	// that revision reports Unchanged instead.
	Outcome Outcome
	// Current is the version that becomes the record, nil when the stored
	// one stays.
	Current *Record
	// Revision is the version that becomes a past version of the record:
	// the stored one when the incoming one wins, the incoming one when it
	// loses, nil when neither is kept.
	Revision *Record
	// DropRevisions is true for a forget: the tombstone takes the record's
	// revisions with it.
	DropRevisions bool
}

// DecideMerge applies the merge rule to the stored version of a record (nil
// when the store has none) and an incoming version of the same id:
//
//   - a version the store does not have is inserted, a tombstone included;
//   - the same version again changes nothing;
//   - a stored tombstone absorbs every version, earlier or concurrent;
//     between two tombstones the usual winner is kept, so every store ends
//     up with the same one;
//   - an incoming tombstone forgets the record and its revisions;
//   - otherwise last writer wins by (clock, origin device, sealed bytes) and
//     the loser is kept as a revision, so nothing is silently lost.
//
// The schema version plays no part: a version of a newer schema wins or
// loses like any other and is kept unchanged either way. A version whose
// kind differs from the stored one is refused (ErrInvalid).
func DecideMerge(stored, in *Record) (Merge, error) {
	switch {
	case stored == nil:
		return Merge{Outcome: Inserted, Current: in}, nil
	case stored.sameVersion(in):
		return Merge{Outcome: Unchanged}, nil
	case stored.Deleted:
		if in.Deleted && wins(in, stored) {
			return Merge{Outcome: Unchanged, Current: in}, nil
		}
		return Merge{Outcome: Unchanged}, nil
	case stored.Kind != in.Kind:
		return Merge{}, invalidf("record %s: kind %q does not match the stored kind %q", in.ID, in.Kind, stored.Kind)
	case in.Deleted:
		return Merge{Outcome: Forgotten, Current: in, DropRevisions: true}, nil
	case wins(in, stored):
		return Merge{Outcome: Replaced, Current: in, Revision: stored}, nil
	default:
		return Merge{Outcome: KeptAsRevision, Revision: in}, nil
	}
}
