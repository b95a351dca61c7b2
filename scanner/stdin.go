package scanner

import "context"

// Input is one in-memory file, such as standard input; Name decides how it is
// read (values.yaml, .env, ...).
type Input struct {
	Name string
	Data []byte
}

// Files implements Source.
func (in *Input) Files(_ context.Context, yield func(*File) error) error {
	return yield(&File{Path: in.Name, Data: in.Data})
}
