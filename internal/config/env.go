package config

import (
	"fmt"
	"sort"
	"strings"
)

// kubernetesServiceEnv reports whether name is one of the variables Kubernetes injects into every pod for a
// Service named umm (docker links style: UMM_PORT=tcp://10.0.0.1:8080, UMM_PORT_8080_TCP_ADDR=...,
// UMM_SERVICE_HOST, UMM_SERVICE_PORT, UMM_SERVICE_PORT_HTTP). They share our prefix but are not settings,
// so they are ignored without a word: an operator cannot turn them off.
func kubernetesServiceEnv(name string) bool {
	return name == "UMM_PORT" || name == "UMM_SERVICE_HOST" || name == "UMM_SERVICE_PORT" ||
		strings.HasPrefix(name, "UMM_PORT_") || strings.HasPrefix(name, "UMM_SERVICE_PORT_")
}

// ignoredEnv reports whether a UMM_ variable is not ours to read: the test suite's UMM_TEST_* and the
// Kubernetes service variables.
func ignoredEnv(name string) bool {
	return strings.HasPrefix(name, "UMM_TEST_") || kubernetesServiceEnv(name)
}

// EnvWarnings lists the UMM_* variables in environ that are no setting, each with the closest known
// variable, so that a typo is visible at start. Load ignores them: a stray variable in a deployment (a
// leftover, another tool's) must not stop the server. The Kubernetes service variables and UMM_TEST_* are
// not reported.
func EnvWarnings(environ []string) []string {
	names := EnvNames()
	known := make([]string, 0, len(names))
	for k := range names {
		known = append(known, k)
	}
	sort.Strings(known)
	var out []string
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "UMM_") || ignoredEnv(k) {
			continue
		}
		if _, ok := names[k]; ok {
			continue
		}
		best, bestDist := "", -1
		for _, cand := range known {
			if d := editDistance(k, cand); bestDist < 0 || d < bestDist {
				best, bestDist = cand, d
			}
		}
		out = append(out, fmt.Sprintf("%s is not a UMM setting and is ignored; the closest one is %s (%s)", k, best, names[best]))
	}
	sort.Strings(out)
	return out
}

// editDistance is the Levenshtein distance between a and b (bytes; the names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// attributeEnv adds the environment variable to each problem about a key that was set from it, so that
// "log.level: ..." reads "log.level (UMM_LOG_LEVEL): ..." when the value came from UMM_LOG_LEVEL. fromEnv
// maps key paths to the variables that set them. Problems that already name a variable stay as they are.
func attributeEnv(p Problems, fromEnv map[string]string) Problems {
	if len(fromEnv) == 0 {
		return p
	}
	out := make(Problems, len(p))
	for i, msg := range p {
		out[i] = msg
		key, rest, ok := strings.Cut(msg, ": ")
		if !ok || strings.Contains(key, "(UMM_") {
			continue
		}
		for path, env := range fromEnv {
			if key == path || strings.HasPrefix(key, path+".") || strings.HasPrefix(key, path+"[") {
				out[i] = key + " (" + env + "): " + rest
				break
			}
		}
	}
	return out
}
