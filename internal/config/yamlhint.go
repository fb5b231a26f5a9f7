package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlHint turns a YAML syntax error into a sentence that says where and what to fix. The parser's own
// words ("found character that cannot start any token") do not say that the cause is almost always a tab
// or a key indented differently from its siblings.
func yamlHint(data []byte, err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if strings.Contains(indent, "\t") {
			return fmt.Sprintf("config file: %s; line %d is indented with a tab: YAML allows only spaces for indentation", msg, i+1)
		}
	}
	for _, s := range []string{"mapping values are not allowed", "did not find expected key", "did not find expected '-'",
		"could not find expected ':'", "did not find expected node content", "block sequence entries are not allowed"} {
		if strings.Contains(msg, s) {
			where := "near the line it names"
			if line > 0 {
				where = fmt.Sprintf("around line %d", line)
			}
			return fmt.Sprintf("config file: %s; check the indentation %s: keys of one section start in the same column, "+
				"nested keys further right (spaces only), and a value containing \": \" is quoted", msg, where)
		}
	}
	return "config file: " + msg
}
