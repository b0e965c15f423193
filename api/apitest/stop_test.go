package apitest

import "testing"

// A stop right after a start (no request in between) must not hang: the
// server's Serve may not have begun when Shutdown runs.
func TestStopRightAfterStart(t *testing.T) {
	for range 20 {
		s := Start(t)
		s.Restart(t)
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
	}
}
