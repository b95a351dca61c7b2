package scanner

// Candidate is a finding before it is reported, with what an external
// allowlist (gitleaks') matches on. It holds the secret, so it never leaves
// the scanner.
type Candidate struct {
	Rule, File, Commit string
	Line               int
	Secret             string
	// LineText is the whole line holding the secret.
	LineText string
}

// Exception is an allowlist imported from another scanner's configuration.
type Exception interface {
	Allows(c Candidate) bool
}

func (s *Scanner) excepted(c Candidate) bool {
	for _, e := range s.exceptions {
		if e.Allows(c) {
			return true
		}
	}
	return false
}
