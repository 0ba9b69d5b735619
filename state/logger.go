package state

import (
	"fmt"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// badgerLogger adapts zap to Badger's four-method logger. Badger's info and
// debug chatter goes to debug.
type badgerLogger struct{ l *zap.Logger }

func (b badgerLogger) log(level zapcore.Level, format string, args ...any) {
	if b.l == nil || !b.l.Core().Enabled(level) {
		// Badger logs on its write path: format only what is written.
		return
	}
	if ce := b.l.Check(level, strings.TrimSpace(fmt.Sprintf(format, args...))); ce != nil {
		ce.Write()
	}
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(zapcore.ErrorLevel, f, a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(zapcore.WarnLevel, f, a...) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(zapcore.DebugLevel, f, a...) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(zapcore.DebugLevel, f, a...) }
