package engine

// Exports for the external tests (package engine_test), which hold the
// golden files to states built from module events and so need the version
// 2 writer that only the tests keep (snapshot_v2_test.go).

// SnapshotV2Of is the version 2 (released, flat) encoding of s.
func SnapshotV2Of(s *State) ([]byte, error) { return snapshotV2Of(s) }
