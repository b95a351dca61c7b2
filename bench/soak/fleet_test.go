package soak

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/api/v1alpha1"
)

// configMaps is how many ConfigMaps each group renders besides the extra one
// that commits add and remove.
const configMaps = 10

// extraConfigMap is the ConfigMap every other commit of a group adds, and the
// next one removes: a prune.
const extraConfigMap = "extra"

// tenantServiceAccount is the ServiceAccount each Sync acts as (--tenancy
// --default-service-account): it may manage the application's kinds in its
// namespace and nothing else.
const tenantServiceAccount = "deployer"

// groupState is what one group's path renders: every ConfigMap carries the
// generation, and the extra ConfigMap exists or not.
type groupState struct {
	generation int
	extra      bool
}

func groupPath(g int) string    { return fmt.Sprintf("apps/g%02d", g) }
func secretPath(g int) string   { return fmt.Sprintf("soak/g%02d", g) }
func namespaceOf(i int) string  { return fmt.Sprintf("soak-%04d", i) }
func groupOf(i, groups int) int { return i % groups }
func secretValue(g, v int) string {
	return fmt.Sprintf("soak-g%02d-v%d-%d", g, v, time.Now().UnixNano())
}
func configMapName(i int) string { return fmt.Sprintf("config-%d", i) }
func generationOf(s string) int  { n, _ := strconv.Atoi(s); return n }

// groupFiles is the group's directory at state st. Removing the extra
// ConfigMap empties its file rather than deleting it, so that every change
// of a group is one commit.
func groupFiles(g int, st groupState) map[string]string {
	dir := groupPath(g)
	files := map[string]string{
		dir + "/serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n",
		dir + "/secret.yaml": fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/%s#password>\n",
			secretPath(g)),
		dir + "/extra.yaml": "# the extra ConfigMap is absent at this generation\n",
	}
	cm := func(name string, i int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  index: \"%d\"\n  generation: \"%d\"\n",
			name, i, st.generation)
	}
	for i := range configMaps {
		files[fmt.Sprintf("%s/config-%d.yaml", dir, i)] = cm(configMapName(i), i)
	}
	if st.extra {
		files[dir+"/extra.yaml"] = cm(extraConfigMap, configMaps)
	}
	return files
}

// expected is what a namespace of a group must hold at state st: ConfigMap
// name → generation.
func expected(st groupState) map[string]int {
	out := map[string]int{}
	for i := range configMaps {
		out[configMapName(i)] = st.generation
	}
	if st.extra {
		out[extraConfigMap] = st.generation
	}
	return out
}

// prepareTenants creates the namespaces with their ServiceAccount, Role and
// RoleBinding, as an admin onboarding teams would, before the clock starts.
func prepareTenants(ctx context.Context, c client.Client, namespaces []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, ns := range namespaces {
		g.Go(func() error {
			objs := []client.Object{
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantServiceAccount}},
				&rbacv1.Role{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantServiceAccount},
					Rules: []rbacv1.PolicyRule{{
						APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "serviceaccounts"},
						Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
					}},
				},
				&rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantServiceAccount},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: tenantServiceAccount},
					Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: tenantServiceAccount}},
				},
			}
			for _, o := range objs {
				if err := c.Create(gctx, o); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func createSyncs(ctx context.Context, c client.Client, repoURL string, n, groups int, interval time.Duration) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			return c.Create(gctx, &v1alpha1.Sync{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespaceOf(i), Name: "app"},
				Spec: v1alpha1.SyncSpec{
					Source:   v1alpha1.GitSource{URL: repoURL, Path: groupPath(groupOf(i, groups)), Interval: metav1.Duration{Duration: interval}},
					Rotation: v1alpha1.Rotation{Interval: &metav1.Duration{Duration: interval}},
				},
			})
		})
	}
	return g.Wait()
}

// desired is what Git and Vault hold now, written by the event loop and read
// by the observer.
type desired struct {
	mu      sync.Mutex
	commits map[string]int // SHA → its index in the order of commits
	head    string
	groups  []groupState
	// values are each group's secret values, the newest last.
	values [][]string
}

func (d *desired) commit(sha string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.commits[sha] = len(d.commits)
	d.head = sha
}

// revisionIndex is the index of the commit a Sync's revision names, or -1.
func (d *desired) revisionIndex(revision string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for sha, i := range d.commits {
		if revision != "" && strings.Contains(revision, sha) {
			return i
		}
	}
	return -1
}

// valueIndex is which version (0-based) of group g's secret value is, or -1.
func (d *desired) valueIndex(g int, value string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, v := range d.values[g] {
		if v == value {
			return i
		}
	}
	return -1
}
