package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one load phase measured.
type result struct {
	Requests int64
	Failures int64
	Duration time.Duration
	P50, P99 time.Duration
	CPUTicks int64  // server CPU during the phase
	PeakRSS  int64  // KiB
	FirstErr string // the first request that failed
	// Unfinished is the error of a request that the end of the phase cut off, kept when no request
	// completed: the server took longer than the whole phase.
	Unfinished string
	Note       string // how the phase ran, when it matters to read the figure (a token pool that ran out)
}

func (r result) rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// cpuPerReq is server CPU milliseconds per successful request.
func (r result) cpuPerReq() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.CPUTicks) * 10 / float64(r.Requests) // USER_HZ = 100: 10 ms per tick
}

// worker runs one unit of work (one token, one flow) with its own client.
type worker func(ctx context.Context, c *http.Client) error

// errPhaseDone is what a worker returns when it has nothing left to do (its token pool is empty): the
// worker stops, and the phase ends early when every worker has stopped.
var errPhaseDone = errors.New("nothing left to do in this phase")

func newClient(conns int) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runLoad runs setup once per worker, then work in a closed loop on `concurrency` workers for d.
func runLoad(pid int, concurrency int, d time.Duration, setup func(c *http.Client) error, work worker) result {
	clients := make([]*http.Client, concurrency)
	shared := newClient(concurrency)
	for i := range clients {
		clients[i] = shared
		if setup != nil {
			clients[i] = newClient(2)
			if err := setup(clients[i]); err != nil {
				return result{Failures: 1, FirstErr: "setup: " + err.Error(), Duration: time.Nanosecond}
			}
		}
	}
	// One unmeasured request first, so that lazily created state (signing keys, caches) exists for both
	// servers before the clock starts.
	if err := work(context.Background(), clients[0]); err != nil {
		return result{Failures: 1, FirstErr: "warm-up: " + err.Error(), Duration: time.Nanosecond}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	rssCtx, rssCancel := context.WithCancel(context.Background())
	var peak int64
	go sampleRSS(rssCtx, pid, &peak)

	var ok, fail atomic.Int64
	var firstErr, unfinished atomic.Value
	lats := make([][]time.Duration, concurrency)
	startTicks := cpuTicks(pid)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				err := work(ctx, clients[i])
				if errors.Is(err, errPhaseDone) {
					return
				}
				if ctx.Err() != nil && err != nil {
					unfinished.CompareAndSwap(nil, err.Error())
					return // cut off by the end of the phase
				}
				if err != nil {
					fail.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
				lats[i] = append(lats[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	endTicks := cpuTicks(pid)
	rssCancel()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := result{Requests: ok.Load(), Failures: fail.Load(), Duration: elapsed, CPUTicks: endTicks - startTicks, PeakRSS: peak}
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[len(all)*99/100]
	}
	if v := firstErr.Load(); v != nil {
		r.FirstErr = v.(string)
	}
	if v := unfinished.Load(); v != nil && r.Requests == 0 {
		r.Unfinished = v.(string) // nothing finished: say what was still waiting
	}
	return r
}

// expect checks a response's status and drains it: expect(get(...))(200).
func expect(resp *http.Response, err error) func(status int) error {
	return func(status int) error {
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != status {
			buf := make([]byte, 300)
			n, _ := resp.Body.Read(buf)
			return fmt.Errorf("status %d (want %d): %s", resp.StatusCode, status, buf[:n])
		}
		drain(resp)
		return nil
	}
}
