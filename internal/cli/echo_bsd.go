//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package cli

import "golang.org/x/sys/unix"

// The termios ioctls of macOS and the BSDs.
const (
	termiosGet = unix.TIOCGETA
	termiosSet = unix.TIOCSETA
)
