package vault

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// The Kubernetes auth tests share one control plane (testenv.Shared); each
// has a Vault of its own.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
