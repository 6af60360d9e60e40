//go:build cluster

package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/cluster"
	"ai-platform/internal/sandbox/sandboxtest"
	"ai-platform/internal/store"
	"ai-platform/internal/store/pgtest"
	"ai-platform/internal/task"
)

// The kinds of task the test mixes, by index modulo 5.
const (
	kindPlain   = iota // runs to completed
	kindClarify        // asks, is answered through the other API, completes
	kindCancel         // asks, is cancelled through the other API
	kindPause          // paused right after creation, unpaused later, completes
	kindFail           // fails (mock marker), is retried, fails again
)

var kindNames = []string{"plain", "clarify", "cancel", "pause", "fail"}

type tracked struct {
	id       string
	kind     int
	api      int // the API it was created through
	answered bool
	acted    bool // cancelled, unpaused or retried
	status   string
	reason   string
}

func hexN(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort(t *testing.T, n int) int {
	t.Helper()
	for base := 30000 + int(time.Now().UnixNano()%5000); base < 65000; base += n + 1 {
		ok := true
		for i := range n {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			_ = ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// binDir links the binaries the cluster needs into a directory of the
// test's, with aiplatform built from this tree.
func binDir(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal", "temporal-schema"} {
		src := filepath.Join(root, "bin", b)
		if _, err := os.Stat(src); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing: run `make temporal temporal-server`", src)
			}
			t.Skipf("%s is missing: run `make temporal temporal-server`", src)
		}
		if err := os.Symlink(src, filepath.Join(dir, b)); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "aiplatform"), "./cmd/aiplatform")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building aiplatform: %v\n%s", err, out)
	}
	return dir
}

type client struct {
	t   *testing.T
	hc  *http.Client
	key string
}

// do sends one request; a transport error (a process down) is returned,
// not fatal, so the driver can carry on through the faults.
func (c *client) do(method, url string, body any, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding %s: %w", raw, err)
		}
	}
	return resp.StatusCode, nil
}

func TestCluster(t *testing.T) {
	root := apptest.RepoRoot()
	bins := binDir(t, root)
	pgURL := pgtest.Schema(t)
	admin := pgtest.BaseURL()
	tdb := "tct_" + hexN(4)
	t.Cleanup(func() { dropDatabases(t, admin, tdb, tdb+"_visibility") })

	key := "cluster-key-" + hexN(4)
	env := map[string]string{
		"DATABASE_URL": pgURL, "REDIS_URL": "redis://127.0.0.1:6379/0", "ENVIRONMENT": "test",
		"LLM_PROVIDER": "mock", "MAX_CONCURRENT_TASKS": "4", "TEMPORAL_TASK_QUEUE": "cluster-" + hexN(4),
		"API_KEY_HASH_SECRET": hexN(32), "AUTH_JWT_SECRET": hexN(32), "AUTH_REFRESH_TOKEN_SECRET": hexN(32),
		"AUTH_MODE": "hybrid", "PUBLIC_REGISTRATION_ENABLED": "true", "RATE_LIMIT_DOWNLOADS_PER_MIN": "6",
		"RATE_LIMIT_CREATE_TASKS_PER_MIN": "1000", "RATE_LIMIT_TASK_CONTROL_PER_MIN": "1000",
		"LOG_LEVEL": "info", "LOG_FORMAT": "json", "STARTUP_WAIT_SECONDS": "60",
	}
	data := sandboxtest.PublicDir(t) // the sandboxed commands' uids must reach the scratch directory
	opts := cluster.Options{RepoRoot: root, BinDir: bins, DataDir: data, PostgresURL: admin,
		DBName: tdb, VisibilityDBName: tdb + "_visibility", APIs: 2, Workers: 3,
		APIPort: freePort(t, 2), MetricsPort: freePort(t, 3), Port: freePort(t, 1), Env: env}
	port, err := cluster.FreeTemporalPort(opts, 27233)
	if err != nil {
		t.Fatal(err)
	}
	opts.TemporalPort = port
	c, err := cluster.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Down()
		if t.Failed() {
			for _, p := range c.Procs() {
				dumpTail(t, p.LogPath(), 40)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	upStart := time.Now()
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster up in %s: Temporal %s, LB %s", time.Since(upStart).Round(time.Millisecond), c.TemporalAddress(), c.URL())

	st, err := store.OpenPostgres(ctx, pgURL, store.WithoutMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sampler := apptest.SampleProcessing(st, 100*time.Millisecond)

	cl := &client{t: t, hc: &http.Client{Timeout: 30 * time.Second}, key: key}
	apis := []string{c.APIURL(0), c.APIURL(1)}

	checkSharedRateLimit(t, c, apis)
	checkLoginAcrossAPIs(t, apis)

	// 200 tasks, created alternately through both APIs.
	const n = 200
	tasks := make([]*tracked, n)
	start := time.Now()
	for i := range n {
		k := i % 5
		desc := fmt.Sprintf("Cluster task %d: a command line tool that counts the words of a text file", i)
		switch k {
		case kindClarify, kindCancel:
			desc += " [mock:clarify]"
		case kindFail:
			desc += " [mock:llm-error]"
		}
		var out struct {
			TaskID string `json:"task_id"`
		}
		code, err := cl.do(http.MethodPost, apis[i%2]+"/api/tasks", map[string]any{"description": desc, "template_id": "python_cli"}, &out)
		if err != nil || code != http.StatusCreated && code != http.StatusOK && code != http.StatusAccepted {
			t.Fatalf("creating task %d through API %d: %d %v", i, i%2+1, code, err)
		}
		tasks[i] = &tracked{id: out.TaskID, kind: k, api: i % 2}
		if k == kindPause {
			if code, err := cl.do(http.MethodPost, apis[(i+1)%2]+"/api/tasks/"+out.TaskID+"/pause", nil, nil); err != nil || code/100 != 2 {
				t.Fatalf("pausing task %d: %d %v", i, code, err)
			}
		}
	}
	t.Logf("200 tasks created in %s", time.Since(start).Round(time.Millisecond))

	var (
		mu       sync.Mutex
		apiDown  = -1
		finals   atomic.Int64
		restarts []string
	)
	other := func(tk *tracked) string {
		mu.Lock()
		defer mu.Unlock()
		if apiDown == 1-tk.api {
			return c.URL() // the other one is down: through the balancer
		}
		return apis[1-tk.api]
	}

	// A WebSocket client on API 2 follows a paused task (it only finishes
	// after the faults): when API 2 is killed it reconnects through the
	// balancer and must see the task complete.
	var wsFollowed *tracked
	for _, tk := range tasks {
		if tk.kind == kindPause {
			wsFollowed = tk
		}
	}
	wsDone := make(chan wsResult, 1)
	go followWS(ctx, strings.Replace(apis[1], "http", "ws", 1), strings.Replace(c.URL(), "http", "ws", 1), key, wsFollowed.id, wsDone)

	// Faults, triggered by progress.
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		waitProgress := func(frac float64) bool {
			for ctx.Err() == nil {
				if float64(finals.Load()) >= frac*n {
					return true
				}
				time.Sleep(200 * time.Millisecond)
			}
			return false
		}
		if !waitProgress(0.15) {
			return
		}
		c.Workers[0].Kill()
		restarts = append(restarts, fmt.Sprintf("worker-1 killed (kill -9) at %d/%d final", finals.Load(), n))
		time.Sleep(5 * time.Second)
		if err := c.Workers[0].Start(); err != nil {
			t.Errorf("restarting worker-1: %v", err)
		}
		if !waitProgress(0.35) {
			return
		}
		mu.Lock()
		apiDown = 1
		mu.Unlock()
		c.APIs[1].Kill()
		restarts = append(restarts, fmt.Sprintf("api-2 killed (kill -9) at %d/%d final", finals.Load(), n))
		time.Sleep(10 * time.Second)
		if err := c.APIs[1].Start(); err != nil {
			t.Errorf("restarting api-2: %v", err)
		}
		if err := c.APIs[1].WaitReady(ctx); err != nil {
			t.Errorf("api-2 after restart: %v", err)
		}
		mu.Lock()
		apiDown = -1
		mu.Unlock()
		if !waitProgress(0.55) {
			return
		}
		c.Temporal.Stop(30 * time.Second)
		restarts = append(restarts, fmt.Sprintf("Temporal server stopped at %d/%d final", finals.Load(), n))
		time.Sleep(3 * time.Second)
		if err := c.StartTemporal(ctx); err != nil {
			t.Errorf("restarting the Temporal server: %v", err)
		}
	}()

	// The driver: answers, cancels, unpauses and retries through the other
	// API, and polls every task through the balancer until all are final.
	unpauseAfter := time.Now().Add(45 * time.Second)
	for ctx.Err() == nil {
		open := 0
		for _, tk := range tasks {
			if isFinal(tk) {
				continue
			}
			var view struct {
				Status        string `json:"status"`
				FailureReason string `json:"failure_reason"`
			}
			if code, err := cl.do(http.MethodGet, c.URL()+"/api/tasks/"+tk.id, nil, &view); err != nil || code != http.StatusOK {
				open++
				continue
			}
			tk.status, tk.reason = view.Status, view.FailureReason
			drive(t, cl, tk, other(tk), time.Now().After(unpauseAfter))
			if isFinal(tk) {
				finals.Add(1)
			} else {
				open++
			}
		}
		if open == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	wall := time.Since(start)
	<-faultsDone
	peak, samples := sampler.Stop()

	byKind := map[string]map[string]int{}
	for _, tk := range tasks {
		k := kindNames[tk.kind]
		if byKind[k] == nil {
			byKind[k] = map[string]int{}
		}
		byKind[k][tk.status]++
		want := map[int]string{kindPlain: "completed", kindClarify: "completed", kindCancel: "cancelled",
			kindPause: "completed", kindFail: "failed"}[tk.kind]
		if tk.status != want {
			t.Errorf("task %s (%s): status %q (reason %q), want %q", tk.id, k, tk.status, tk.reason, want)
		}
		if tk.kind == kindFail && (!tk.acted || tk.reason != task.ReasonLLMProviderError) {
			t.Errorf("task %s (fail): retried %v, failure reason %q", tk.id, tk.acted, tk.reason)
		}
	}
	if peak > 4 || samples < 100 {
		t.Errorf("peak processing %d in %d samples, want <= 4 (MAX_CONCURRENT_TASKS) from >= 100 samples", peak, samples)
	}
	var ws wsResult
	select {
	case ws = <-wsDone:
	case <-time.After(30 * time.Second):
		t.Error("the WebSocket client never saw its task finish")
	}
	if ws.err != nil || ws.last != "completed" || ws.reconnects < 1 {
		t.Errorf("WebSocket client: last status %q after %d reconnects, error %v", ws.last, ws.reconnects, ws.err)
	}
	retries := checkNoDuplicates(t, ctx, st, tasks)
	t.Logf("CLUSTER FIGURES: 200 tasks (2 APIs, 3 workers, MAX_CONCURRENT_TASKS=4, real Temporal server on PostgreSQL): "+
		"wall %s; peak processing %d (%d samples); by kind %v; model calls retried after a fault %d; faults survived: %s; "+
		"WebSocket reconnects %d", wall.Round(time.Second), peak, samples, byKind, retries, strings.Join(restarts, "; "), ws.reconnects)
}

func isFinal(tk *tracked) bool {
	switch tk.status {
	case "completed", "cancelled":
		return true
	case "failed":
		return tk.kind != kindFail || tk.acted
	}
	return false
}

// drive takes the action a task's kind calls for in its current status.
func drive(t *testing.T, cl *client, tk *tracked, other string, unpause bool) {
	path := other + "/api/tasks/" + tk.id
	switch {
	case tk.status == "needs_input" && tk.kind == kindClarify && !tk.answered:
		code, err := cl.do(http.MethodPost, path+"/input", map[string]any{"answers": map[string]any{"scope": "minimal"}}, nil)
		if err == nil && code/100 == 2 {
			tk.answered = true
		}
	case tk.status == "needs_input" && tk.kind == kindClarify && tk.answered:
		_, _ = cl.do(http.MethodPost, path+"/resume", map[string]any{}, nil)
	case tk.status == "needs_input" && tk.kind == kindCancel && !tk.acted:
		if code, err := cl.do(http.MethodPost, path+"/cancel", nil, nil); err == nil && code/100 == 2 {
			tk.acted = true
		}
	case tk.kind == kindPause && unpause && !tk.acted:
		if code, err := cl.do(http.MethodPost, path+"/unpause", nil, nil); err == nil && code/100 == 2 {
			tk.acted = true
		}
	case tk.status == "failed" && tk.kind == kindFail && !tk.acted:
		code, err := cl.do(http.MethodPost, path+"/retry", nil, nil)
		if err == nil && code/100 == 2 {
			tk.acted, tk.status = true, "queued"
		}
	}
}

type wsResult struct {
	last       string
	reconnects int
	err        error
}

// followWS reads the task's records from first (API 2) and, whenever the
// connection breaks, reconnects through the balancer, until the task is
// final.
func followWS(ctx context.Context, first, lb, key, id string, done chan<- wsResult) {
	var res wsResult
	url := first
	for ctx.Err() == nil {
		conn, _, err := websocket.Dial(ctx, url+"/ws/"+id, &websocket.DialOptions{HTTPHeader: http.Header{"X-API-Key": {key}}})
		if err != nil {
			time.Sleep(time.Second)
			url = lb
			continue
		}
		conn.SetReadLimit(1 << 20)
		for {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				break
			}
			var rec struct {
				Status string `json:"status"`
			}
			if json.Unmarshal(msg, &rec) == nil && rec.Status != "" {
				res.last = rec.Status
				if rec.Status == "completed" || rec.Status == "failed" || rec.Status == "cancelled" {
					conn.CloseNow()
					done <- res
					return
				}
			}
		}
		conn.CloseNow()
		res.reconnects++
		url = lb
	}
	res.err = ctx.Err()
	done <- res
}

// checkSharedRateLimit: the download limit (6 a minute) is one budget
// across both APIs: six requests spread over them pass the limiter, the
// seventh, on either, is refused.
func checkSharedRateLimit(t *testing.T, c *cluster.Cluster, apis []string) {
	t.Helper()
	cl := &client{t: t, hc: &http.Client{Timeout: 10 * time.Second}, key: "cluster-limit-" + hexN(4)}
	// A task of this tenant's own: the limiter runs after the owner check,
	// so an unknown task would answer 404 without counting.
	var out struct {
		TaskID string `json:"task_id"`
	}
	if code, err := cl.do(http.MethodPost, apis[0]+"/api/tasks", map[string]any{
		"description": "A command line tool that lists the largest files in a directory [mock:clarify]"}, &out); err != nil || code/100 != 2 {
		t.Fatalf("creating the rate-limit task: %d %v", code, err)
	}
	defer func() {
		if code, err := cl.do(http.MethodPost, apis[1]+"/api/tasks/"+out.TaskID+"/cancel", nil, nil); err != nil || code/100 != 2 {
			t.Errorf("cancelling the rate-limit task: %d %v", code, err)
		}
	}()
	path := "/api/tasks/" + out.TaskID + "/download.zip"
	var codes []int
	for i := range 7 {
		code, err := cl.do(http.MethodGet, apis[i%2]+path, nil, nil)
		if err != nil {
			t.Fatalf("download %d: %v", i, err)
		}
		codes = append(codes, code)
	}
	for i, code := range codes[:6] {
		if code == http.StatusTooManyRequests {
			t.Errorf("request %d of 6 was limited: %v", i+1, codes)
		}
	}
	if codes[6] != http.StatusTooManyRequests {
		t.Errorf("the 7th download across both APIs got %d, want 429 (shared limit of 6): %v", codes[6], codes)
	}
}

// checkLoginAcrossAPIs: a session made on API 1 refreshes on API 2 and its
// access token works on API 1 again.
func checkLoginAcrossAPIs(t *testing.T, apis []string) {
	t.Helper()
	email := "cluster-" + hexN(4) + "@example.com"
	body, _ := json.Marshal(map[string]string{"email": email, "password": "a long enough password"})
	resp, err := http.Post(apis[0]+"/auth/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("register on API 1: %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatal("register set no refresh cookie")
	}
	req, _ := http.NewRequest(http.MethodPost, apis[1]+"/auth/refresh", nil)
	req.AddCookie(cookie)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("refresh on API 2 of a login made on API 1: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, apis[0]+"/api/tasks", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("API 1 refused the access token API 2 issued: %d", resp.StatusCode)
	}
}

// checkNoDuplicates reads every task's record from the store: event ids,
// file paths and command run ids appear once; the llm_usage events add up
// to the task's token totals, and over all tasks to the owner's daily
// usage. It returns the model calls made again by retried attempts.
func checkNoDuplicates(t *testing.T, ctx context.Context, st store.Store, tasks []*tracked) int {
	t.Helper()
	var owner string
	var in, out int64
	days := map[string]time.Time{}
	calls := map[string]int{}
	for _, tk := range tasks {
		row, err := st.GetTask(ctx, tk.id)
		if err != nil {
			t.Fatal(err)
		}
		owner = row.OwnerKeyHash
		days[row.CreatedAt.UTC().Format("2006-01-02")] = row.CreatedAt
		var events []store.Event
		for after := ""; ; {
			page, err := st.ListEvents(ctx, tk.id, store.ListOptions{Limit: 500, Order: "asc", After: after})
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, page.Items...)
			if after = page.Next; after == "" {
				break
			}
		}
		ids, runs := map[string]bool{}, map[string]bool{}
		var tin, tout int64
		created := 0
		for _, e := range events {
			if ids[e.ID] {
				t.Errorf("task %s: event %s twice", tk.id, e.ID)
			}
			ids[e.ID] = true
			var p map[string]any
			_ = json.Unmarshal(e.Payload, &p)
			switch e.Type {
			case task.EventTaskCreated:
				created++
			case task.EventCommandStarted:
				id, _ := p["run_id"].(string)
				if id == "" || runs[id] {
					t.Errorf("task %s: command_started without a fresh run_id: %v", tk.id, p)
				}
				runs[id] = true
			case task.EventLLMUsage:
				a, _ := p["tokens_in"].(float64)
				b, _ := p["tokens_out"].(float64)
				tin, tout = tin+int64(a), tout+int64(b)
				calls[tk.id]++
			}
		}
		if created != 1 {
			t.Errorf("task %s: %d TaskCreated events", tk.id, created)
		}
		if tin != row.TokensIn || tout != row.TokensOut {
			t.Errorf("task %s: llm_usage events %d/%d tokens, task totals %d/%d", tk.id, tin, tout, row.TokensIn, row.TokensOut)
		}
		in, out = in+tin, out+tout
		files, err := st.ListFiles(ctx, tk.id)
		if err != nil {
			t.Fatal(err)
		}
		paths := map[string]bool{}
		for _, f := range files {
			if paths[f.Path] {
				t.Errorf("task %s: file %s twice", tk.id, f.Path)
			}
			paths[f.Path] = true
		}
		if row.FilesCount != len(files) {
			t.Errorf("task %s: files_count %d, store has %d", tk.id, row.FilesCount, len(files))
		}
	}
	var uin, uout int64
	keys := make([]string, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u, err := st.GetUsage(ctx, owner, days[k])
		if err != nil {
			t.Fatal(err)
		}
		uin, uout = uin+u.TokensIn, uout+u.TokensOut
	}
	if uin != in || uout != out {
		t.Errorf("owner's daily usage %d/%d tokens, the tasks' llm_usage events %d/%d", uin, uout, in, out)
	}
	// Every task of a kind makes the same model calls when undisturbed (the
	// mock is deterministic), so calls beyond the kind's most common count
	// are attempts a kill or restart cut short and Temporal retried, each
	// charged once for its own requests.
	counts := map[int]map[int]int{}
	for _, tk := range tasks {
		if counts[tk.kind] == nil {
			counts[tk.kind] = map[int]int{}
		}
		counts[tk.kind][calls[tk.id]]++
	}
	extra := 0
	for _, tk := range tasks {
		mode, best := 0, -1
		for n, k := range counts[tk.kind] {
			if k > best || k == best && n < mode {
				mode, best = n, k
			}
		}
		if calls[tk.id] > mode {
			extra += calls[tk.id] - mode
		}
	}
	return extra
}

func dropDatabases(t *testing.T, admin string, names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Logf("dropping %v: %v", names, err)
		return
	}
	defer conn.Close(ctx)
	for _, n := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", n, err)
		}
	}
}

func dumpTail(t *testing.T, path string, lines int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	t.Logf("%s (last %d lines):\n%s", filepath.Base(path), len(all), strings.Join(all, "\n"))
}
