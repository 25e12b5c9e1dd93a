package gym

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory/memtest"
)

// What a person contributes (their messages, the model's replies) reaches
// neither the gym's log nor the contributor's, at the debug level: on a
// delivery that is accepted, one that repeats it, and items the gym
// refuses as too large.
func TestNothingTypedReachesTheGymLogs(t *testing.T) {
	const canary = "zebracanary42"
	ctx := testCtx(t)
	var logs memtest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gym := startGym(t, NodeConfig{Name: "open-gym", License: testLicense, Logger: log,
		Limits: Limits{MaxItemBytes: 256, MaxEnvelopeItems: 50, ItemsPerHour: 100}})
	c, err := OpenContributor(ctx, ContributorConfig{Path: filepath.Join(t.TempDir(), "gym.db"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g, err := c.AddGym(ctx, gym.url)
	if err != nil {
		t.Fatal(err)
	}
	small, big := sftItem("I keep bees, "+canary), sftItem(strings.Repeat(canary+" ", 40))
	for _, batch := range [][]Candidate{{small, big}, {small}} {
		if _, err := c.Approve(ctx, g, batch, testLicense); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "contribution") || !strings.Contains(out, "refused=1") || !strings.Contains(out, "duplicates=1") {
		t.Fatalf("the gym did not log the deliveries this test means to check:\n%s", out)
	}
	if strings.Contains(out, canary) {
		t.Fatalf("contributed words reached a log:\n%s", out)
	}
}
