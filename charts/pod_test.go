package charts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/latchkey-dev/latchkey/internal/components"
	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// pod is the container of a rendered Deployment run as a local process, with
// what a kubelet would give it: its volumes (Secrets, ConfigMaps, projected
// ServiceAccount tokens, downward API) written to a directory, its
// environment resolved, its ports bound on loopback, and the Kubernetes API
// reached with the ServiceAccount token its kube-api-access volume holds. The
// process is the real `latchkey controller` binary with the chart's own args.
type pod struct {
	cmd    *exec.Cmd
	output *testenv.Output
	exited chan struct{}
	err    error
	// ports maps container port names to the loopback addresses they got.
	ports map[string]string
}

// Output is everything the process printed so far.
func (p *pod) Output() string { return p.output.String() }

// Exited reports whether the process has stopped, and why.
func (p *pod) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.err
	default:
		return false, nil
	}
}

// runPod starts the Deployment's only container from binary and stops it
// (SIGTERM) when the test ends. Volume mount paths in args and env are
// rewritten to the directory holding the volume; ":PORT" listen addresses of
// container ports to free loopback ports.
func runPod(t *testing.T, k *testenv.Kube, d *appsv1.Deployment, binary string) *pod {
	t.Helper()
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, the Deployment has %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	root := t.TempDir()

	vols := map[string]string{}
	for _, v := range spec.Volumes {
		dir := filepath.Join(root, "volumes", v.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		materialize(t, k, d.Namespace, spec.ServiceAccountName, v, dir)
		vols[v.Name] = dir
	}
	mounts := map[string]string{} // mountPath -> local dir
	for _, m := range c.VolumeMounts {
		dir, ok := vols[m.Name]
		if !ok {
			t.Fatalf("volumeMount %s names no volume", m.Name)
		}
		mounts[m.MountPath] = dir
	}
	rewrite := pathRewriter(mounts)

	ports := map[string]string{}
	byNumber := map[string]string{}
	for _, p := range c.Ports {
		addr := testenv.FreeLoopbackAddr(t)
		ports[p.Name] = addr
		byNumber[":"+strconv.Itoa(int(p.ContainerPort))] = addr
	}
	var args []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		if name, value, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "--") {
			if addr, isPort := byNumber[value]; isPort {
				a = name + "=" + addr
			}
		}
		args = append(args, rewrite(a))
	}
	if len(args) > 0 && args[0] == "latchkey" {
		args = args[1:]
	}

	// In a pod, client-go's in-cluster configuration reads the token and CA
	// of kube-api-access at a fixed path; here a kubeconfig points at the
	// same files.
	api, ok := mounts["/var/run/secrets/kubernetes.io/serviceaccount"]
	if !ok {
		t.Fatal("the container does not mount kube-api-access at /var/run/secrets/kubernetes.io/serviceaccount: the controller could not reach the API")
	}
	kubeconfig := filepath.Join(root, "kubeconfig")
	writeTokenKubeconfig(t, kubeconfig, k.Host(), filepath.Join(api, "ca.crt"), filepath.Join(api, "token"))

	env := []string{"KUBECONFIG=" + kubeconfig, "HOME=" + root, "PATH=" + os.Getenv("PATH")}
	for _, e := range c.Env {
		env = append(env, e.Name+"="+rewrite(envValue(t, k, d, e)))
	}

	p := &pod{output: &testenv.Output{}, exited: make(chan struct{}), ports: ports}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env, p.cmd.Dir = env, root
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if done, _ := p.Exited(); !done {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
				t.Errorf("the controller did not stop within 30s of SIGTERM")
			}
		}
		if t.Failed() {
			t.Logf("controller output (tail):\n%s", tail(p.Output(), 12000))
		}
	})
	return p
}

// waitReady polls the container's readiness probe as a kubelet would. It
// gives up at once when the process exits or is denied an API call.
func (p *pod) waitReady(d *appsv1.Deployment, timeout time.Duration) error {
	probe := d.Spec.Template.Spec.Containers[0].ReadinessProbe
	if probe == nil || probe.HTTPGet == nil {
		return errors.New("the container has no HTTP readiness probe")
	}
	addr, ok := p.ports[probe.HTTPGet.Port.StrVal]
	if !ok {
		return fmt.Errorf("the readiness probe's port %q is not a container port", probe.HTTPGet.Port.StrVal)
	}
	url := "http://" + addr + probe.HTTPGet.Path
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if done, err := p.Exited(); done {
			return fmt.Errorf("the controller exited before it was ready: %v", err)
		}
		if line := forbiddenLine(p.Output()); line != "" {
			return fmt.Errorf("the controller was denied an API call before it was ready: %s", line)
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("readiness probe %s not OK within %s: %s", url, timeout, last)
}

// materialize writes what volume v holds into dir.
func materialize(t *testing.T, k *testenv.Kube, namespace, serviceAccount string, v corev1.Volume, dir string) {
	t.Helper()
	ctx := context.Background()
	write := func(path string, data []byte, mode *int32) {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		perm := os.FileMode(0o644)
		if mode != nil {
			perm = os.FileMode(*mode)
		}
		// The test runs as one user: keep the owner's read bit so the
		// process can read what a kubelet would have made readable to it.
		if err := os.WriteFile(p, data, perm|0o400); err != nil {
			t.Fatal(err)
		}
	}
	items := func(data map[string][]byte, items []corev1.KeyToPath, mode *int32, what string) {
		if len(items) == 0 {
			for key, value := range data {
				write(key, value, mode)
			}
			return
		}
		for _, it := range items {
			value, ok := data[it.Key]
			if !ok {
				t.Fatalf("%s has no key %s", what, it.Key)
			}
			m := mode
			if it.Mode != nil {
				m = it.Mode
			}
			write(it.Path, value, m)
		}
	}
	secretData := func(name string) map[string][]byte {
		var s corev1.Secret
		if err := k.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
			t.Fatalf("volume %s: Secret %s/%s: %v", v.Name, namespace, name, err)
		}
		return s.Data
	}
	configMapData := func(name string) map[string][]byte {
		var cm corev1.ConfigMap
		if err := k.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm); err != nil {
			t.Fatalf("volume %s: ConfigMap %s/%s: %v", v.Name, namespace, name, err)
		}
		data := map[string][]byte{}
		for key, value := range cm.Data {
			data[key] = []byte(value)
		}
		return data
	}
	switch {
	case v.Secret != nil:
		items(secretData(v.Secret.SecretName), v.Secret.Items, v.Secret.DefaultMode, "Secret "+v.Secret.SecretName)
	case v.ConfigMap != nil:
		items(configMapData(v.ConfigMap.Name), v.ConfigMap.Items, v.ConfigMap.DefaultMode, "ConfigMap "+v.ConfigMap.Name)
	case v.EmptyDir != nil:
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.ServiceAccountToken != nil:
				sat := src.ServiceAccountToken
				var audiences []string
				if sat.Audience != "" {
					audiences = []string{sat.Audience}
				}
				tr, err := k.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, serviceAccount, &authenticationv1.TokenRequest{
					Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: sat.ExpirationSeconds},
				}, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("volume %s: token for ServiceAccount %s/%s: %v", v.Name, namespace, serviceAccount, err)
				}
				write(sat.Path, []byte(tr.Status.Token), v.Projected.DefaultMode)
			case src.ConfigMap != nil:
				items(configMapData(src.ConfigMap.Name), src.ConfigMap.Items, v.Projected.DefaultMode, "ConfigMap "+src.ConfigMap.Name)
			case src.Secret != nil:
				items(secretData(src.Secret.Name), src.Secret.Items, v.Projected.DefaultMode, "Secret "+src.Secret.Name)
			case src.DownwardAPI != nil:
				for _, it := range src.DownwardAPI.Items {
					if it.FieldRef == nil || it.FieldRef.FieldPath != "metadata.namespace" {
						t.Fatalf("volume %s: downward API item %s is not supported by the test", v.Name, it.Path)
					}
					write(it.Path, []byte(namespace), v.Projected.DefaultMode)
				}
			default:
				t.Fatalf("volume %s: unsupported projected source %+v", v.Name, src)
			}
		}
	default:
		t.Fatalf("volume %s: unsupported volume type", v.Name)
	}
}

// envValue resolves one container environment variable.
func envValue(t *testing.T, k *testenv.Kube, d *appsv1.Deployment, e corev1.EnvVar) string {
	t.Helper()
	if e.ValueFrom == nil {
		return e.Value
	}
	switch {
	case e.ValueFrom.SecretKeyRef != nil:
		ref := e.ValueFrom.SecretKeyRef
		var s corev1.Secret
		if err := k.Client.Get(context.Background(), client.ObjectKey{Namespace: d.Namespace, Name: ref.Name}, &s); err != nil {
			t.Fatalf("env %s: Secret %s/%s: %v", e.Name, d.Namespace, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			t.Fatalf("env %s: Secret %s/%s has no key %s", e.Name, d.Namespace, ref.Name, ref.Key)
		}
		return string(v)
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
		return d.Namespace
	case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
		// As the kubelet resolves it: the named container's limit, in
		// bytes (the divisor defaults to 1).
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != e.ValueFrom.ResourceFieldRef.ContainerName {
				continue
			}
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				return strconv.FormatInt(q.Value(), 10)
			}
		}
		t.Fatalf("env %s: container %s has no memory limit", e.Name, e.ValueFrom.ResourceFieldRef.ContainerName)
	}
	t.Fatalf("env %s: unsupported valueFrom %+v", e.Name, e.ValueFrom)
	return ""
}

// pathRewriter maps a string that starts with a mount path (longest first)
// to the local directory of that volume.
func pathRewriter(mounts map[string]string) func(string) string {
	paths := make([]string, 0, len(mounts))
	for p := range mounts {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	return func(s string) string {
		for _, p := range paths {
			prefix, value, hasFlag := "", s, false
			if name, v, ok := strings.Cut(s, "="); ok && strings.HasPrefix(name, "--") {
				prefix, value, hasFlag = name+"=", v, true
			}
			if value == p || strings.HasPrefix(value, strings.TrimSuffix(p, "/")+"/") {
				rewritten := mounts[p] + strings.TrimPrefix(value, p)
				if hasFlag {
					return prefix + rewritten
				}
				return rewritten
			}
		}
		return s
	}
}

func writeTokenKubeconfig(t *testing.T, path, host, caFile, tokenFile string) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["pod"] = &clientcmdapi.Cluster{Server: host, CertificateAuthority: caFile}
	kc.AuthInfos["pod"] = &clientcmdapi.AuthInfo{TokenFile: tokenFile}
	kc.Contexts["pod"] = &clientcmdapi.Context{Cluster: "pod", AuthInfo: "pod"}
	kc.CurrentContext = "pod"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

// publishRootCA creates the kube-root-ca.crt ConfigMap in namespace, as
// kube-controller-manager does in every namespace (envtest runs no
// controller-manager); the kube-api-access volume projects it.
func publishRootCA(t *testing.T, k *testenv.Kube, namespace string) {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "kube-root-ca.crt"},
		Data:       map[string]string{"ca.crt": string(k.CACert())},
	}
	if err := k.Client.Create(context.Background(), cm); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("publishing kube-root-ca.crt in %s: %v", namespace, err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("...\n%s", s[len(s)-n:])
}

func TestMain(m *testing.M) {
	code := m.Run()
	_ = components.RemoveLatchkeyBinary()
	os.Exit(code)
}
