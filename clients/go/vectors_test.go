package sessiond_test

import (
	"context"
	"testing"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/vectors"
)

// Every typed vector of clients/testdata is written with its setter and reads back exactly,
// through a fresh Session, with its getter.
func TestTestdataVectorsRoundTrip(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	all, err := vectors.Load("../testdata/values.json")
	if err != nil {
		t.Fatal(err)
	}
	s := client.New(sessiond.CreateOptions{})
	for _, v := range all {
		if err := v.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mismatches, err := vectors.Mismatches(ctx, client.Open(s.ID()), all)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range mismatches {
		t.Error(line)
	}
}
