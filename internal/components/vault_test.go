package components

import "testing"

func TestReadyAddr(t *testing.T) {
	tests := []struct {
		name, out, want string
		ok              bool
	}{
		{"complete line", "log\n==> Vault dev server ready: version=1.21.0 addr=http://127.0.0.1:4321\n", "http://127.0.0.1:4321", true},
		{"line not finished", "==> Vault dev server ready: version=1.21.0 addr=http://127.0.0.1:43", "", false},
		{"no ready line", "==> Vault server configuration:\n", "", false},
		{"config server listening", "==> Vault server ready: version=1.21.0 addr=http://127.0.0.1:4322 sealed=true\n", "http://127.0.0.1:4322", true},
		{"ready line without addr", "==> Vault dev server ready: version=1.21.0\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readyAddr(tt.out)
			if got != tt.want || ok != tt.ok {
				t.Errorf("readyAddr = %q, %t; want %q, %t", got, ok, tt.want, tt.ok)
			}
		})
	}
}
