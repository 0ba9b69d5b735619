//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sim

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir does nothing where flock is missing: run one simulator per data
// directory.
func lockDir(string) (io.Closer, error) { return noLock{}, nil }
