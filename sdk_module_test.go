package umm_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestSDKModule runs the tests of the Go SDK, a module of its own under sdk/go that go test ./... of this
// module does not reach, so that the one test command covers it too.
func TestSDKModule(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "test", "./...")
	cmd.Dir = "sdk/go"
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test ./... in sdk/go: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
