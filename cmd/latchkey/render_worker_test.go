package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
	"github.com/latchkey-dev/latchkey/render"
	"github.com/latchkey-dev/latchkey/render/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		// TestRenderWorkerSubcommand starts this binary as `latchkey
		// render-worker`: run it through the command tree, as main does.
		root := newRootCommand()
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	_ = components.RemoveLatchkeyBinary()
	os.Exit(code)
}

// TestRenderWorkerSubcommand: the controller's default worker command,
// `latchkey render-worker`, renders a chart through the command tree, and
// the subcommand is not in the help.
func TestRenderWorkerSubcommand(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Command: []string{os.Args[0], sandbox.Subcommand}})
	fsys := os.DirFS(filepath.Join(testenv.ModuleRoot(t), "render", "testdata"))
	res, err := sb.Render(context.Background(), fsys, "chart", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != render.Helm || len(res.Objects) == 0 {
		t.Errorf("rendered %d objects in mode %s", len(res.Objects), res.Mode)
	}

	root := newRootCommand()
	var help bytes.Buffer
	root.SetOut(&help)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(help.String(), sandbox.Subcommand) {
		t.Errorf("latchkey --help lists %s:\n%s", sandbox.Subcommand, help.String())
	}
}
