package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/latchkey-dev/latchkey/render"
)

// protocolVersion opens both streams, so a parent and a worker of
// different builds (never the case for os.Executable, possible with
// Config.Command) refuse each other instead of misreading.
const protocolVersion = 1

// request is what the parent sends, before the files.
type request struct {
	Dir     string
	Options render.Options // Helm.Values travel as a value, after this header
}

// response is what the worker sends, before the objects.
type response struct {
	Err     *workerError `json:",omitempty"`
	Mode    render.Mode
	Dir     string
	Skipped []render.Skipped `json:",omitempty"`
	// PeakRSS is the worker's own peak resident set, in bytes, when known.
	PeakRSS int64 `json:",omitempty"`
}

// workerError is a render that failed in the worker the way it fails in
// process: a message, and the sentinel the caller tests for.
type workerError struct {
	Message       string
	RemoteRefused bool `json:",omitempty"`
}

// renderError is a workerError on the parent's side: the same message the
// in-process render gives, and errors.Is(err, render.ErrRemoteRefused) as
// there.
type renderError struct{ workerError }

func (e *renderError) Error() string { return e.Message }

func (e *renderError) Unwrap() error {
	if e.RemoteRefused {
		return render.ErrRemoteRefused
	}
	return nil
}

// writeRequest streams the request: the header, the Helm values, then the
// files, read one at a time from fsys so the parent never holds a second
// copy of the snapshot.
func writeRequest(out io.Writer, fsys fs.FS, dir string, opts render.Options, files []string) error {
	w := newWriter(out)
	w.uvarint(protocolVersion)
	values := opts.Helm.Values
	opts.Helm.Values = nil
	header, err := json.Marshal(request{Dir: dir, Options: opts})
	if err != nil {
		return err
	}
	w.bytes(header)
	if err := w.value(mapOrNil(values)); err != nil {
		return fmt.Errorf("spec.render.helm.values: %w", err)
	}
	for _, name := range files {
		if err := writeFile(w, fsys, name); err != nil {
			return err
		}
	}
	w.string("")
	return w.flush()
}

func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

func writeFile(w *writer, fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	w.string(name)
	w.uvarint(uint64(fi.Size()))
	if _, err := io.CopyN(w.w, f, fi.Size()); err != nil {
		return fmt.Errorf("sending %s to the render worker: %w", name, err)
	}
	return nil
}

// readRequest is the worker's side of writeRequest.
func readRequest(in io.Reader) (dir string, opts render.Options, files map[string][]byte, err error) {
	// The worker's own memory limit bounds what it reads.
	r := newReader(in, 1<<62)
	if err := readVersion(r); err != nil {
		return "", opts, nil, err
	}
	header, err := r.bytes()
	if err != nil {
		return "", opts, nil, err
	}
	var req request
	if err := json.Unmarshal(header, &req); err != nil {
		return "", opts, nil, fmt.Errorf("the request header: %w", err)
	}
	values, err := r.value(0)
	if err != nil {
		return "", opts, nil, err
	}
	if m, ok := values.(map[string]any); ok {
		req.Options.Helm.Values = m
	}
	files = map[string][]byte{}
	for {
		name, err := r.string()
		if err != nil {
			return "", opts, nil, err
		}
		if name == "" {
			return req.Dir, req.Options, files, nil
		}
		if !fs.ValidPath(name) {
			return "", opts, nil, fmt.Errorf("invalid file name %q", name)
		}
		if files[name], err = r.bytes(); err != nil {
			return "", opts, nil, err
		}
	}
}

func readVersion(r *reader) error {
	v, err := r.uvarint()
	if err != nil {
		return err
	}
	if v != protocolVersion {
		return fmt.Errorf("render worker protocol version %d, want %d (the worker is another build of latchkey)", v, protocolVersion)
	}
	return nil
}

// writeResponse streams the result, or the render's error, to the parent.
func writeResponse(out io.Writer, res *render.Result, renderErr error) error {
	w := newWriter(out)
	w.uvarint(protocolVersion)
	var resp response
	if renderErr != nil {
		resp.Err = &workerError{Message: renderErr.Error(), RemoteRefused: errors.Is(renderErr, render.ErrRemoteRefused)}
	} else {
		resp.Mode, resp.Dir, resp.Skipped = res.Mode, res.Dir, res.Skipped
	}
	resp.PeakRSS = peakRSS(os.Getpid())
	header, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	w.bytes(header)
	if res != nil && renderErr == nil {
		for i, o := range res.Objects {
			_ = w.w.WriteByte(1)
			w.string(res.Sources[i].File)
			w.uvarint(uint64(res.Sources[i].Line))
			if err := w.value(o.Object); err != nil {
				return fmt.Errorf("%s: %w", res.Origin(i), err)
			}
		}
	}
	_ = w.w.WriteByte(0)
	return w.flush()
}

// readResponse is the parent's side of writeResponse; limit bounds the
// bytes it reads. peak is the worker's peak RSS as it reported it.
func readResponse(in io.Reader, limit int64) (res *render.Result, peak int64, err error) {
	r := newReader(in, limit)
	if err := readVersion(r); err != nil {
		return nil, 0, err
	}
	header, err := r.bytes()
	if err != nil {
		return nil, 0, err
	}
	var resp response
	if err := json.Unmarshal(header, &resp); err != nil {
		return nil, 0, fmt.Errorf("the render worker's answer: %w", err)
	}
	res, err = readObjects(r, resp)
	return res, resp.PeakRSS, err
}

func readObjects(r *reader, resp response) (*render.Result, error) {
	res := &render.Result{Mode: resp.Mode, Dir: resp.Dir, Skipped: resp.Skipped}
	for {
		more, err := r.byte()
		if err != nil {
			return nil, unexpected(err)
		}
		if more == 0 {
			break
		}
		var src render.Source
		if src.File, err = r.string(); err != nil {
			return nil, err
		}
		line, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		src.Line = int(line)
		v, err := r.value(0)
		if err != nil {
			return nil, err
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the render worker sent a %T for an object", v)
		}
		res.Objects = append(res.Objects, &unstructured.Unstructured{Object: obj})
		res.Sources = append(res.Sources, src)
	}
	if resp.Err != nil {
		return nil, &renderError{*resp.Err}
	}
	return res, nil
}

// requestFiles lists the files of fsys the worker needs to render dir in
// mode: a chart's own files and its values files for Helm; for Kustomize
// every file but .git's, since bases and components may be anywhere in the
// repository (kustomize's load restrictions then decide what it reads).
func requestFiles(fsys fs.FS, dir string, mode render.Mode, valuesFiles []string) ([]string, error) {
	root := "."
	if mode == render.Helm {
		root = dir
	}
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the files to render: %w", err)
	}
	if mode == render.Helm {
		seen := map[string]bool{}
		for _, f := range files {
			seen[f] = true
		}
		for _, v := range valuesFiles {
			// As render.FS reads them; a file that is not there is left
			// for the worker to report, in render's own words.
			p := path.Clean(strings.TrimPrefix(filepath.ToSlash(v), "/"))
			if fi, err := fs.Stat(fsys, p); err == nil && fi.Mode().IsRegular() && !seen[p] {
				seen[p] = true
				files = append(files, p)
			}
		}
	}
	return files, nil
}
