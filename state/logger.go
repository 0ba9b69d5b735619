package state

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
)

// badgerLogger adapts zap to Badger's four-method logger. Badger's info and
// debug chatter goes to debug.
type badgerLogger struct{ l *zap.Logger }

func (b badgerLogger) log(level func(string, ...zap.Field), format string, args ...any) {
	if b.l == nil {
		return
	}
	level(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(b.logger().Error, f, a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(b.logger().Warn, f, a...) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(b.logger().Debug, f, a...) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(b.logger().Debug, f, a...) }

func (b badgerLogger) logger() *zap.Logger {
	if b.l == nil {
		return zap.NewNop()
	}
	return b.l
}
