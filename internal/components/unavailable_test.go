package components

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestAMissingToolIsUnavailableAndNamesTheFix: every component started
// without `make tools` returns (never panics, never exits) an error that
// matches ErrUnavailable, so testenv can skip locally and fail in CI, and
// that tells the user what to run.
func TestAMissingToolIsUnavailableAndNamesTheFix(t *testing.T) {
	t.Setenv(ToolsDirEnv, t.TempDir())
	ctx := context.Background()
	tests := []struct {
		name  string
		start func() error
	}{
		{"kube", func() error { return (&Kube{}).Start() }},
		{"vault", func() error { return (&Vault{Dir: t.TempDir()}).Start(ctx) }},
		{"sealed-secrets", func() error { return (&SealedSecrets{Kube: &Kube{}, Dir: t.TempDir()}).Start(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.start()
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Start = %v, want an error matching ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), "make tools") {
				t.Errorf("error %q does not name `make tools`", err)
			}
		})
	}
}

func TestAStartFailureIsNotUnavailable(t *testing.T) {
	for name, v := range map[string]*Vault{
		"unknown storage":          {Storage: "s3", Dir: t.TempDir()},
		"file storage without Dir": {Storage: VaultFile},
	} {
		if err := v.Start(context.Background()); err == nil || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Start = %v, want a failure that is not ErrUnavailable", name, err)
		}
	}
}

func TestStopBeforeStartIsANoOp(t *testing.T) {
	for name, stop := range map[string]func() error{
		"kube": (&Kube{}).Stop, "vault": (&Vault{}).Stop, "git": (&GitServer{}).Stop, "sealed-secrets": (&SealedSecrets{}).Stop,
	} {
		if err := stop(); err != nil {
			t.Errorf("%s: Stop before Start = %v", name, err)
		}
	}
}
