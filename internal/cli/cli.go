// Package cli is the command-line client: `aiplatform task ...`, `login` and
// `logout`. It talks to the HTTP API only, so it works against any
// deployment, and takes everything from outside (arguments, streams and an
// environment lookup) through Run, so tests drive it in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes. Scripts can tell a failed task from a failed command.
const (
	ExitOK          = 0
	ExitError       = 1 // the command failed: bad request, HTTP error, server unreachable
	ExitUsage       = 2
	ExitFailed      = 3 // a followed task ended as failed
	ExitCancelled   = 4 // a followed task ended as cancelled
	ExitNeedsInput  = 5 // the task waits for answers and none could be read
	ExitInterrupted = 130
)

// DefaultURL is the server used when AIPLATFORM_URL is unset and no login
// stored another one.
const DefaultURL = "http://localhost:8080"

const usage = `Command-line client of ai-platform (talks to its HTTP API).

Usage:
  aiplatform task create "DESCRIPTION" [--template ID] [--budget-usd N] [--budget-tokens N] [--approve-plan] [--follow]
  aiplatform task list [--status S] [--limit N] [--cursor C]
  aiplatform task show ID
  aiplatform task logs ID [--follow]
  aiplatform task answer ID          answer the task's pending questions interactively
  aiplatform task cancel|pause|unpause|retry ID
  aiplatform task download ID [-o FILE.zip] [--git-export]   (-o - writes to stdout)
  aiplatform task files ID [PATH]    list the files, or print one
  aiplatform login [--email E]       sign in with email and password (AUTH_MODE auth/hybrid)
  aiplatform logout

Every command takes --json: the API's JSON on stdout (logs: one event per line).
--follow shows live progress, asks the task's questions when it has some
(from the terminal or piped input) and waits until the task ends.

Environment:
  AIPLATFORM_URL       server URL (default http://localhost:8080, or the one you logged in to)
  AIPLATFORM_API_KEY   API key sent as X-API-Key; without it the stored login is used
Credentials from login live in <user config dir>/aiplatform/credentials.json (mode 0600).

Exit codes:
  0 success (with --follow: the task completed)   1 error (HTTP error, server unreachable)
  2 usage error   3 the task failed   4 the task was cancelled
  5 the task waits for answers and none could be read   130 interrupted
`

// Env is how the client reads its environment (os.LookupEnv in the binary).
type Env func(key string) (string, bool)

// Run executes one client command (args start with "task", "login" or
// "logout") and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env Env) int {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	a := &app{stdin: newLines(stdin), in: stdin, stdout: stdout, stderr: stderr, env: env}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	var err error
	switch args[0] {
	case "login":
		err = a.login(ctx, args[1:])
	case "logout":
		err = a.logout(ctx, args[1:])
	case "task", "tasks":
		err = a.task(ctx, args[1:])
	default:
		fmt.Fprintf(stderr, "aiplatform: unknown command %q\n\n%s", args[0], usage)
		return ExitUsage
	}
	return a.exit(ctx, err)
}

// IsCommand reports whether the binary should hand args to Run.
func IsCommand(name string) bool {
	return name == "task" || name == "tasks" || name == "login" || name == "logout"
}

// app is one invocation: its streams, environment and output mode.
type app struct {
	stdin  *lines
	in     io.Reader
	stdout io.Writer
	stderr io.Writer
	env    Env
	json   bool
}

// exitError carries a specific exit code (a task's outcome, a usage error).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// exit prints err (never a secret: messages are built from server details
// and our own text) and maps it to an exit code.
func (a *app) exit(ctx context.Context, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		fmt.Fprintln(a.stderr, "aiplatform: interrupted")
		return ExitInterrupted
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(a.stderr, "aiplatform:", ee.msg)
		}
		if ee.code == ExitUsage {
			fmt.Fprintln(a.stderr, "Run `aiplatform task --help` for usage.")
		}
		return ee.code
	}
	var ae *APIError
	if errors.As(err, &ae) && a.json {
		writeJSON(a.stdout, map[string]any{"error": ae.JSON()})
	}
	fmt.Fprintln(a.stderr, "aiplatform:", err)
	return ExitError
}

// task dispatches `aiplatform task SUBCOMMAND`.
func (a *app) task(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(a.stdout, usage)
		if len(args) == 0 {
			return &exitError{code: ExitUsage}
		}
		return nil
	}
	cmds := map[string]func(context.Context, []string) error{
		"create": a.create, "list": a.list, "show": a.show, "logs": a.logs, "answer": a.answer,
		"cancel": a.control("cancel"), "pause": a.control("pause"), "unpause": a.control("unpause"),
		"retry": a.control("retry"), "download": a.download, "files": a.files,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return usageErr("unknown task command %q", args[0])
	}
	return cmd(ctx, args[1:])
}

// flags is a subcommand's flag set with --json always defined.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("aiplatform "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.BoolVar(&a.json, "json", false, "print the API's JSON")
	return fs
}

// parse parses flags placed anywhere among the positional arguments (the
// standard flag package stops at the first one), honouring "--", and checks
// the number of positional arguments.
func parse(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: ExitUsage}
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minPos || len(pos) > maxPos {
		want := fmt.Sprintf("%d", minPos)
		if maxPos != minPos {
			want = fmt.Sprintf("%d to %d", minPos, maxPos)
		}
		return nil, usageErr("%s takes %s argument(s), got %d: %s", fs.Name(), want, len(pos), strings.Join(quoteAll(pos), " "))
	}
	return pos, nil
}

// parseWithClient is the preamble every API command shares: it parses the
// command's flags and between minPos and maxPos positional arguments (see
// parse), then builds the client for the configured server.
func (a *app) parseWithClient(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, *client, error) {
	pos, err := parse(fs, args, minPos, maxPos)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.newClient()
	if err != nil {
		return nil, nil, err
	}
	return pos, c, nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
