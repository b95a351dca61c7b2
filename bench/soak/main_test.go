package soak

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// TestMain removes the controller binary built from the checkout afterwards.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
