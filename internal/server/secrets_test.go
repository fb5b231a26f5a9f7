package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// TestSecretsAreNeitherStoredNorLogged runs every flow that handles a secret through the real server,
// logging at debug level, and then looks for each secret it saw (passwords, client secrets, the code,
// access, ID and refresh tokens, device and user codes, cookies, the master key) in the log and in every
// column of every table: none may appear. Only hashes of codes, tokens and secrets are stored.
func TestSecretsAreNeitherStoredNorLogged(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			var logs lockedBuffer
			srv := servertest.New(t, servertest.WithBackend(backend), servertest.WithLogLevel(slog.LevelDebug), servertest.WithLogWriter(&logs))
			secrets := fullFlow(t, srv)

			t.Run("the log is JSON with a request ID on every request line, and has no secret", func(t *testing.T) {
				out := logs.String()
				requests := 0
				for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("log line %d is not JSON: %v\n%s", i+1, err, line)
					}
					if rec["msg"] == "http request" {
						requests++
						if id, _ := rec["request_id"].(string); id == "" {
							t.Errorf("request log line without request_id: %s", line)
						}
					}
				}
				if requests < 20 {
					t.Fatalf("only %d request lines logged at debug level; the flow made more requests:\n%s", requests, out)
				}
				for name, v := range secrets {
					if strings.Contains(out, v) {
						t.Errorf("the log contains the %s", name)
					}
				}
			})
			t.Run("no table holds a secret in the clear", func(t *testing.T) {
				cells := dumpDatabase(t, srv.Config.Database.URL)
				if len(cells) == 0 {
					t.Fatal("read nothing from the database")
				}
				for _, c := range cells {
					for name, v := range secrets {
						if strings.Contains(c.value, v) {
							t.Errorf("%s.%s holds the %s", c.table, c.column, name)
						}
					}
				}
			})
		})
	}
}

type cell struct{ table, column, value string }

// dumpDatabase reads every column of every row of every table of the database at url (as the server
// configuration names it), each value as text (bytes as they are).
func dumpDatabase(t *testing.T, url string) []cell {
	t.Helper()
	ctx := context.Background()
	driver, dsn, list := "pgx", url, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		driver, dsn, list = "sqlite", "file:"+path, "SELECT name FROM sqlite_master WHERE type = 'table'"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found only the tables %v", tables)
	}
	var out []cell
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case nil:
					continue
				case []byte:
					s = string(v)
				case string:
					s = v
				default:
					s = fmt.Sprint(v)
				}
				out = append(out, cell{table, cols[i], s})
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
	}
	return out
}
