package cluster

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// ServerPorts lists every port the Temporal server listens on with this
// cluster's TemporalPort: the *_PORT variables ServerEnv sets, except the
// database's. Derived from ServerEnv so that a port added there is checked
// here too.
func (c *Cluster) ServerPorts() ([]int, error) {
	env, err := c.ServerEnv()
	if err != nil {
		return nil, err
	}
	var ports []int
	for k, v := range env {
		if !strings.HasSuffix(k, "_PORT") || k == "DB_PORT" {
			continue
		}
		p, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s=%q is not a port: %w", k, v, err)
		}
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports, nil
}

// MaxTemporalPort is the highest frontend port a cluster can use: every
// server port moves by the same offset from the template's defaults, and the
// membership ports (6933-6939 by default) are stored in PostgreSQL as a
// smallint, so none may pass 32767 (the server exits at start otherwise).
const MaxTemporalPort = 32767 - 6939 + 7233

// FreeTemporalPort picks a TemporalPort for o, trying from `from` upward in
// steps of 97 (the server's ports span about 1,000 from the frontend's, so
// neighbouring candidates must not overlap much), whose every server port
// is free right now. A benchmark or test that starts a server of its own
// next to others (another run, `make cluster`) cannot take fixed ports.
func FreeTemporalPort(o Options, from int) (int, error) {
	if from < 7233 || from > MaxTemporalPort {
		return 0, fmt.Errorf("cluster: the frontend port must be from 7233 (every other port is below it) to %d", MaxTemporalPort)
	}
	for base := from; base <= MaxTemporalPort; base += 97 {
		o.TemporalPort = base
		ports, err := (&Cluster{o: o}).ServerPorts()
		if err != nil {
			return 0, err
		}
		if allFree(ports) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("cluster: no free port range for the Temporal server from %d", from)
}

func allFree(ports []int) bool {
	for _, p := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		_ = ln.Close()
	}
	return true
}
