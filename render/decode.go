package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// document is one YAML document of a file and the line it starts on.
type document struct {
	data []byte
	line int
}

// splitDocuments cuts a YAML stream at its "---" separators, keeping the
// first line of each document so errors and sources can point into the file.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine := 0, 1
	line := 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := bytes.TrimRight(data[i:next], "\r\n")
		if isSeparator(l) {
			docs = append(docs, document{data: data[start:i], line: startLine})
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	docs = append(docs, document{data: data[start:], line: startLine})
	return docs
}

func isSeparator(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	rest := l[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t'
}

// decodeFile decodes every object of one YAML or JSON file into res.
func decodeFile(res *Result, name string, data []byte) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if strings.HasSuffix(name, ".json") {
		return decodeDocument(res, name, document{data: data, line: 1})
	}
	for _, d := range splitDocuments(data) {
		if err := decodeDocument(res, name, d); err != nil {
			return err
		}
	}
	return nil
}

// yamlLine finds the "line N" the YAML parser reports, to shift it by the
// document's first line.
var yamlLine = regexp.MustCompile(`(?:yaml: )?line (\d+): `)

func decodeDocument(res *Result, name string, d document) error {
	if len(bytes.TrimSpace(d.data)) == 0 {
		return nil
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(d.data), 4096)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return syntaxError(name, d.line, err)
		}
		src := Source{File: name, Line: d.line}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue // a document of comments only
		}
		var obj map[string]any
		// apimachinery's decoder makes whole numbers int64, as in any
		// unstructured object (encoding/json would make them float64).
		if err := utiljson.Unmarshal(raw, &obj); err != nil {
			res.Skipped = append(res.Skipped, Skipped{Source: src, Reason: "not a YAML map"})
			continue
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if err := incomplete(u, name, src); err != nil {
			return err
		}
		if reason := notAnObject(u); reason != "" {
			res.Skipped = append(res.Skipped, Skipped{Source: src, Reason: reason})
			continue
		}
		if u.IsList() {
			items, err := listItems(u, src)
			if err != nil {
				return err
			}
			for _, it := range items {
				res.add(it, src)
			}
			continue
		}
		res.add(u, src)
	}
}

// syntaxError rewrites a YAML parser error to name the file and the line in
// the file, not in the document.
func syntaxError(name string, first int, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		n, _ := strconv.Atoi(msg[m[2]:m[3]])
		return fmt.Errorf("%s:%d: invalid YAML: %s", name, first+n-1, msg[m[1]:])
	}
	return fmt.Errorf("%s:%d: invalid YAML or JSON: %s", name, first, msg)
}

// notAnObject says why a YAML map is not a Kubernetes object, or "". Such
// documents (a kustomization.yaml, a Chart.yaml, a values file, any YAML
// config in the tree) are skipped, as Flux and Argo CD skip them in
// directories of plain manifests.
func notAnObject(u *unstructured.Unstructured) string {
	switch {
	case u.GetAPIVersion() == "" || u.GetKind() == "":
		return "not a Kubernetes object (apiVersion and kind are required)"
	case strings.HasPrefix(u.GetAPIVersion(), "kustomize.config.k8s.io/"):
		return "a Kustomize configuration, not a Kubernetes object"
	}
	return ""
}

// incomplete fails a document that is meant as a Kubernetes object but lacks
// apiVersion or kind: skipping it, as other YAML is skipped, would make the
// controller prune the live object it used to describe as "no longer in
// Git". A document has that intent when it has kind or metadata without
// apiVersion, or apiVersion without kind. The configuration files such a
// tree may hold are not objects and keep being skipped: a kustomization
// (kind Kustomization or Component, apiVersion optional) and a Helm chart's
// Chart.yaml (apiVersion v1 or v2, no kind).
func incomplete(u *unstructured.Unstructured, name string, src Source) error {
	_, hasAPIVersion := u.Object["apiVersion"]
	_, hasKind := u.Object["kind"]
	_, hasMetadata := u.Object["metadata"]
	base := path.Base(name)
	switch {
	case hasAPIVersion && hasKind:
		return nil
	case hasAPIVersion && isChartFile(base):
		return nil
	case !hasAPIVersion && hasKind && isKustomization(base, u.GetKind()):
		return nil
	case !hasAPIVersion && (hasKind || hasMetadata):
		return fmt.Errorf("%s: a document with %s but no apiVersion: add apiVersion (e.g. v1, apps/v1), or remove the document if it is not a Kubernetes object; skipping it would prune the object it describes", src, presentFields(hasKind, hasMetadata))
	case hasAPIVersion && !hasKind:
		return fmt.Errorf("%s: a document with apiVersion but no kind: add kind (e.g. ConfigMap, Deployment), or remove the document if it is not a Kubernetes object; skipping it would prune the object it describes", src)
	}
	return nil
}

func presentFields(kind, metadata bool) string {
	switch {
	case kind && metadata:
		return "kind and metadata"
	case kind:
		return "kind"
	}
	return "metadata"
}

func isChartFile(base string) bool { return base == "Chart.yaml" || base == "Chart.lock" }

func isKustomization(base, kind string) bool {
	switch base {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
	default:
		return false
	}
	return kind == "Kustomization" || kind == "Component"
}

func checkObject(u *unstructured.Unstructured, src Source) error {
	if reason := notAnObject(u); reason != "" {
		return fmt.Errorf("%s: %s", src, reason)
	}
	return nil
}

func listItems(u *unstructured.Unstructured, src Source) ([]*unstructured.Unstructured, error) {
	raw, _ := u.Object["items"].([]any)
	out := make([]*unstructured.Unstructured, 0, len(raw))
	for i, it := range raw {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: item %d of the %s is not an object", src, i, u.GetKind())
		}
		item := &unstructured.Unstructured{Object: m}
		if err := checkObject(item, src); err != nil {
			return nil, fmt.Errorf("%s: item %d of the %s: apiVersion and kind are required", src, i, u.GetKind())
		}
		out = append(out, item)
	}
	return out, nil
}
