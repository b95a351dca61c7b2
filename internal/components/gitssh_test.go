package components

import (
	"os"
	"path/filepath"
	"testing"
)

// The SSH server runs only git's two services, only on a repository under
// its root: a client cannot run a command or reach a directory of its
// choosing.
func TestGitSSHServerCommand(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "fleet.git"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &GitSSHServer{Root: root}
	tests := []struct {
		line, service, dir string // dir "": refused
	}{
		{line: "git-upload-pack '/fleet.git'", service: "upload-pack", dir: "fleet.git"},
		{line: "git-receive-pack '/fleet.git'", service: "receive-pack", dir: "fleet.git"},
		{line: "git-upload-pack 'fleet.git'", service: "upload-pack", dir: "fleet.git"},
		{line: "git-upload-pack '/other.git'"},
		{line: "git-upload-pack '/../fleet.git'"}, // cleaned to /fleet.git would be fine; ".." climbing out is not
		{line: "git-upload-pack '/fleet.git/../../etc'"},
		{line: "git-upload-pack '/fleet.git'; rm -rf /"},
		{line: "git-upload-archive '/fleet.git'"},
		{line: "sh -c id"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			service, dir, err := s.command(tc.line)
			if tc.dir == "" {
				if err == nil && dir != filepath.Join(root, "fleet.git") {
					t.Errorf("accepted: %s in %s", service, dir)
				}
				return
			}
			if err != nil || service != tc.service || dir != filepath.Join(root, tc.dir) {
				t.Errorf("got %q %q %v, want %s in %s", service, dir, err, tc.service, tc.dir)
			}
		})
	}
}
