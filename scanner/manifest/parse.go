package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	yaml "go.yaml.in/yaml/v3"
)

// MaxDocuments bounds the number of documents parsed from one input; a stream
// of millions of empty documents ("---\n" repeated) is not a manifest.
const MaxDocuments = 10000

// Parse decodes every YAML (or JSON) document in data. Documents before a
// syntax error are returned together with the error, so a caller can still
// check what parsed. Empty documents are skipped.
func Parse(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		// The parser must not take the scanner down with it on hostile input.
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for len(docs) < MaxDocuments {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return docs, err
		}
		if root := Root(&n); root != nil {
			docs = append(docs, root)
		}
	}
	return docs, fmt.Errorf("more than %d documents", MaxDocuments)
}

// Root returns the content node of a document node (or n itself when it is
// not a document), nil for an empty document.
func Root(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return n.Content[0]
	}
	return n
}
