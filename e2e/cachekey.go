package e2e

// The suite builds and runs the umm binary, which go test cannot see: without this import a change to the
// server would not invalidate a cached e2e result. Importing the package that wires every other one makes
// the suite's cache key cover the whole server (cmd/umm itself is a thin command line over it).
import _ "github.com/umm-project/umm/internal/server"
