//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sim

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir keeps a second simulator out of a data directory while this one
// uses it. The lock goes with the process, however it ends.
func lockDir(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sim: data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("sim: data directory %s is in use by another simulator: %w", dir, err)
	}
	return f, nil
}
