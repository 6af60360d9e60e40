// Package runner runs the checks of AI-generated projects (ruff, pytest,
// python) on the host, treating the project's code as hostile.
//
// Threat model: everything in the task workspace was written by an LLM and may
// try to read the server's secrets, reach the network, damage the host or
// outlive its command. The runner therefore:
//
//   - Never uses a shell. argv is executed directly, so quoting, globbing,
//     `;`, `$()` and redirections in an argument are inert text. argv[0] must be
//     an allow-listed basename and is resolved only on the runner's own PATH:
//     never the server's PATH (which may hold a different python) and never a
//     relative path, which would run a file from the workspace itself.
//   - Gives the child a minimal environment built from scratch (PATH, HOME,
//     TMPDIR, locale, a few PYTHON* switches, PWD). Nothing is inherited, so
//     LLM_API_KEY, DATABASE_URL, JWT secrets and the like cannot leak into
//     generated code or its output.
//   - Starts the child in its own session and process group and, on timeout
//     or cancellation (and after it exits, for stragglers), kills the whole
//     group with SIGKILL. A test suite that forks workers or daemons cannot
//     keep running, and a grandchild holding the output pipe cannot hang Run
//     (exec.Cmd.WaitDelay bounds the wait). Pdeathsig ends the child if the
//     server dies.
//   - Keeps at most Config.MaxOutput bytes of each stream and drains the rest,
//     so a chatty child cannot exhaust the server's memory.
//   - Where bubblewrap works, runs the child inside it: no network, no
//     capabilities, its own PID namespace, a read-only system (/usr, /etc), a
//     private /tmp, and the workspace as the only writable host directory.
//     Without bwrap ("none") the child runs as the server's user with the
//     server's view of the filesystem; only the measures above apply.
//
// Limits: a process that calls setsid leaves the group; in none mode it
// survives the group kill (Run still returns after WaitDelay), while in bwrap
// it dies with the sandbox's PID namespace. If the server dies, Pdeathsig
// kills only the direct child, so in none mode grandchildren live on; bwrap
// takes the whole sandbox down, except when the server dies during bwrap's
// few milliseconds of setup (bwrap's --die-with-parent race,
// containers/bubblewrap#633). There are no CPU, memory or process-count
// limits; those need cgroups.
package runner
