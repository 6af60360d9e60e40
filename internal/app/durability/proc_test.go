//go:build durability || bench

package durability_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat returns the state letter and parent pid of pid from
// /proc/<pid>/stat ("", 0 when the process does not exist).
func procStat(pid int) (state string, ppid int) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0
	}
	// The command name is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return "", 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 2 {
		return "", 0
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0], ppid
}

// descendants lists the live processes below pid.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid := procStat(p); state != "" && state != "Z" {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// cmdline is the command line of pid, arguments joined by spaces.
func cmdline(pid int) string {
	raw, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return strings.TrimSpace(string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '})))
}

// pid is the running worker's process id.
func (s *stack) pid() int { return s.worker.cmd.Process.Pid }
