package main

import (
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/latchkey-dev/latchkey/config"
)

// logOptions turn --log-level and --log-format (validated by config) into
// the controller's zap logger options.
func logOptions(cfg *config.Controller) []zap.Opts {
	level := zapcore.InfoLevel
	switch cfg.LogLevel {
	case "debug":
		level = zapcore.DebugLevel
	case "error":
		level = zapcore.ErrorLevel
	}
	opts := []zap.Opts{zap.UseDevMode(false), zap.Level(level)}
	if cfg.LogFormat == "text" {
		opts = append(opts, zap.ConsoleEncoder())
	} else {
		opts = append(opts, zap.JSONEncoder())
	}
	return opts
}
