//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package cli

import "errors"

// echoOff is not available here; readPassword falls back to
// term.ReadPassword.
func echoOff(int) (func() error, error) { return nil, errors.ErrUnsupported }
