package faults

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
