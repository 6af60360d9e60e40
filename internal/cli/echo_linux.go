package cli

import "golang.org/x/sys/unix"

// The termios ioctls of Linux.
const (
	termiosGet = unix.TCGETS
	termiosSet = unix.TCSETS
)
