//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package cli

import "golang.org/x/sys/unix"

// echoOff stops the terminal on fd from echoing typed characters while
// keeping line editing, and returns how to give it its settings back. It
// runs before the password prompt is printed: with echo switched off only
// after the prompt (as term.ReadPassword does), input that arrives in
// between, pasted or sent by a script, is echoed in clear.
func echoOff(fd int) (restore func() error, err error) {
	t, err := unix.IoctlGetTermios(fd, termiosGet)
	if err != nil {
		return nil, err
	}
	saved := *t
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, termiosSet, t); err != nil {
		return nil, err
	}
	return func() error { return unix.IoctlSetTermios(fd, termiosSet, &saved) }, nil
}
