package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/latchkey-dev/latchkey/render"
)

// DefaultCapabilitiesTTL is how long the cluster's capabilities (the
// Kubernetes version and served API versions a Helm chart sees) are reused
// before discovery is read again. A CustomResourceDefinition applied by a
// Sync refreshes them at once; one installed by anyone else is seen within
// this time.
const DefaultCapabilitiesTTL = 30 * time.Second

// capabilities caches what discovery says the cluster is, for Helm renders,
// as helm-controller gives a chart the cluster's capabilities: without them
// a chart renders for Helm's default of Kubernetes v1.20.0, and charts that
// choose API versions by version or by what is served render objects the
// cluster refuses (or leave out the ServiceMonitor its CRD would take).
type capabilities struct {
	dc  discovery.DiscoveryInterface
	ttl time.Duration

	mu    sync.Mutex
	caps  render.Capabilities
	sum   string
	read  time.Time
	stale bool
}

func newCapabilities(dc discovery.DiscoveryInterface, ttl time.Duration) *capabilities {
	if ttl <= 0 {
		ttl = DefaultCapabilitiesTTL
	}
	return &capabilities{dc: dc, ttl: ttl}
}

// get returns the cluster's capabilities and a digest of them (to tell a
// render made with other capabilities). When discovery fails and an earlier
// answer exists, that answer is used: the cluster did not change because
// its discovery endpoint is briefly away.
func (c *capabilities) get(ctx context.Context) (render.Capabilities, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sum != "" && !c.stale && time.Since(c.read) < c.ttl {
		return c.caps, c.sum, nil
	}
	caps, err := render.Discover(ctx, c.dc)
	if err != nil {
		if c.sum != "" {
			logger(ctx).Info("reading the cluster's capabilities failed; using the last ones read", "error", err.Error(), "read", c.read)
			return c.caps, c.sum, nil
		}
		return render.Capabilities{}, "", err
	}
	c.caps, c.sum, c.read, c.stale = caps, capabilitiesDigest(caps), time.Now(), false
	return c.caps, c.sum, nil
}

// invalidate makes the next get read discovery again.
func (c *capabilities) invalidate() {
	c.mu.Lock()
	c.stale = true
	c.mu.Unlock()
}

func capabilitiesDigest(caps render.Capabilities) string {
	h := sha256.New()
	h.Write([]byte(caps.KubeVersion))
	h.Write([]byte{0})
	h.Write([]byte(strings.Join(caps.APIVersions, "\n")))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// definesAPIs says whether objs hold a CustomResourceDefinition: applying
// it changes what the cluster serves.
func definesAPIs(objs []*unstructured.Unstructured) bool {
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() == crdKind {
			return true
		}
	}
	return false
}
