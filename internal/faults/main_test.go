package faults

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime's logger; the controller under
	// test logs to its own file.
	log.SetLogger(logr.Discard())
	os.Exit(testenv.Main(m))
}
