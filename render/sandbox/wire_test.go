package sandbox

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/render"
)

// TestValuesCrossTheWireUnchanged: every value an unstructured object or
// Helm values hold comes back with its Go type, where JSON and gob would
// change it (1.0 into an int64, [] into null).
func TestValuesCrossTheWireUnchanged(t *testing.T) {
	in := map[string]any{
		"nil": nil, "true": true, "false": false, "int64": int64(-42), "int": 7, "big": int64(math.MaxInt64),
		"whole float": 1.0, "float": 1.5, "zero": 0.0, "string": "é\x00\n", "empty string": "",
		"empty list": []any{}, "empty map": map[string]any{}, "nested": []any{nil, []any{}, map[string]any{"a": []any{int64(1), "b"}}},
	}
	var buf bytes.Buffer
	w := newWriter(&buf)
	if err := w.value(in); err != nil {
		t.Fatal(err)
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	out, err := newReader(&buf, 1<<20).value(0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("got  %#v\nwant %#v", out, in)
	}
}

// TestReaderRefusesLengthsBeyondItsBudget: a length read from the stream
// is checked against what is left before anything is allocated.
func TestReaderRefusesLengthsBeyondItsBudget(t *testing.T) {
	for name, value := range map[string]any{
		"string": strings.Repeat("x", 1000),
		"list":   make([]any, 1000),
		"map":    map[string]any{"a": strings.Repeat("x", 1000)},
	} {
		var buf bytes.Buffer
		w := newWriter(&buf)
		if err := w.value(value); err != nil {
			t.Fatal(err)
		}
		_ = w.flush()
		if _, err := newReader(&buf, 500).value(0); !errors.Is(err, errTooLarge) {
			t.Errorf("%s: got %v, want errTooLarge", name, err)
		}
	}
}

// TestUnsupportedValuesAreRefused: a type the wire cannot carry fails the
// request instead of changing on the way.
func TestUnsupportedValuesAreRefused(t *testing.T) {
	w := newWriter(&bytes.Buffer{})
	if err := w.value(map[string]any{"a": int32(1)}); err == nil || !strings.Contains(err.Error(), "int32") {
		t.Errorf("got %v", err)
	}
}

// TestWorkerEnvironmentHoldsNoCredentials: the worker's environment is
// built from scratch; the controller's Vault and Kubernetes credentials are
// not passed on, proxies only when kustomize may fetch remote bases.
func TestWorkerEnvironmentHoldsNoCredentials(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "canary-token")
	t.Setenv("AVP_SECRET_ID", "canary-secret-id")
	t.Setenv("KUBECONFIG", "/canary/kubeconfig")
	t.Setenv("HTTPS_PROXY", "http://proxy:3128")
	s := New(Config{})
	for _, remote := range []bool{false, true} {
		env := strings.Join(s.environ(render.Options{NoRemoteBases: !remote}), "\n")
		if strings.Contains(env, "canary") {
			t.Errorf("the worker's environment holds a credential:\n%s", env)
		}
		if !strings.Contains(env, EnvWorker+"=1") || !strings.Contains(env, envMemory+"=") || !strings.Contains(env, envCPU+"=") {
			t.Errorf("the worker's environment lacks its settings:\n%s", env)
		}
		if strings.Contains(env, "HTTPS_PROXY") != remote {
			t.Errorf("remote bases %t: proxy passed %t", remote, strings.Contains(env, "HTTPS_PROXY"))
		}
	}
}
