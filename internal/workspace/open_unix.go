//go:build unix

package workspace

import "syscall"

// readFlags keeps opening a FIFO or device that replaced a checked regular
// file from blocking; the descriptor is checked with fstat right after.
const readFlags = syscall.O_RDONLY | syscall.O_NONBLOCK
