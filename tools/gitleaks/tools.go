//go:build tools

// Package tools pins gitleaks, the anchor the scanner benchmark compares against.
package tools

import _ "github.com/zricethezav/gitleaks/v8"
