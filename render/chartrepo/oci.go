package chartrepo

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/latchkey-dev/latchkey/render"
)

// ociChart pulls the chart name from the OCI registry repository repoURL
// (oci://host/path) with Helm's registry client: the tag is version when
// it is exact, else the newest tag the range allows. digest pins the
// manifest ("sha256:..."). Every response the registry sends is bounded.
func (f *Fetcher) ociChart(repoURL, name, version, digest, what string) (render.ChartArchive, error) {
	ref := strings.TrimSuffix(strings.TrimPrefix(repoURL, "oci://"), "/") + "/" + name
	if err := f.opts.Hosts.Check("https://"+ref, what); err != nil {
		return render.ChartArchive{}, err
	}
	client, err := registry.NewClient(
		registry.ClientOptHTTPClient(f.boundedClient()),
		registry.ClientOptWriter(io.Discard),
		// No credentials: a controller's home holds none a Sync may use.
		registry.ClientOptCredentialsFile(filepath.Join(os.TempDir(), "latchkey-no-registry-credentials.json")),
	)
	if err != nil {
		return render.ChartArchive{}, fmt.Errorf("%s: %w", what, err)
	}
	tag := version
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v")); err != nil {
		if tag, err = newestTag(client, ref, version); err != nil {
			return render.ChartArchive{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	key := repoURL + "\x00" + name + "\x00" + tag + "\x00" + digest
	if sum := f.cachedSum(key); sum != "" {
		if data := f.cached(sum); data != nil {
			return render.ChartArchive{Name: name, Version: tag, Digest: "sha256:" + sum, Data: data}, nil
		}
	}
	res, err := client.Pull(ref+":"+strings.ReplaceAll(tag, "+", "_"), registry.PullOptWithChart(true), registry.PullOptIgnoreMissingProv(true))
	if err != nil {
		return render.ChartArchive{}, fmt.Errorf("%s: pulling %s:%s: %w", what, ref, tag, err)
	}
	if digest != "" && res.Manifest.Digest != digest {
		return render.ChartArchive{}, fmt.Errorf("%s: the registry's manifest is %s, the pin says %s: refusing it", what, res.Manifest.Digest, digest)
	}
	data := res.Chart.Data
	if int64(len(data)) > f.opts.MaxChartBytes {
		return render.ChartArchive{}, fmt.Errorf("%s: %w of %d bytes", what, errTooLarge, f.opts.MaxChartBytes)
	}
	sum := strings.TrimPrefix(res.Chart.Digest, "sha256:")
	f.store(sum, data)
	f.remember(key, sum)
	return render.ChartArchive{Name: name, Version: tag, Digest: res.Chart.Digest, Data: data}, nil
}

// newestTag is the newest tag of ref that the range allows.
func newestTag(client *registry.Client, ref, constraint string) (string, error) {
	c, err := semver.NewConstraint(orAny(constraint))
	if err != nil {
		return "", fmt.Errorf("version %q: %w", constraint, err)
	}
	tags, err := client.Tags(ref)
	if err != nil {
		return "", fmt.Errorf("listing the tags of %s: %w", ref, err)
	}
	for _, t := range tags { // newest first
		v, err := semver.NewVersion(t)
		if err == nil && c.Check(v) {
			return t, nil
		}
	}
	return "", fmt.Errorf("no tag of %s satisfies %q", ref, constraint)
}

func orAny(c string) string {
	if c == "" {
		return "*"
	}
	return c
}

// boundedClient is the fetcher's client with every response body bounded
// by the archive limit: the registry's manifests, tag lists and blobs are
// attacker input.
func (f *Fetcher) boundedClient() *http.Client {
	c := *f.opts.Client
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = boundedTransport{next: next, limit: f.opts.MaxChartBytes}
	return &c
}

type boundedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (b boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > b.limit {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %d bytes, %w of %d bytes", req.Method, req.URL.Redacted(), resp.ContentLength, errTooLarge, b.limit)
	}
	resp.Body = &boundedBody{r: resp.Body, left: b.limit}
	return resp, nil
}

type boundedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.r.Read(one[:]); n == 0 {
			return 0, err // the end, exactly at the limit
		}
		return 0, fmt.Errorf("response %w", errTooLarge)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.r.Close() }
